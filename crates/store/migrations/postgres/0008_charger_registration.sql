-- Whether a directly connected charger is commissioned: what its BootNotification is answered
-- (accepted: in service; pending: connected and configurable, may not charge; rejected).
ALTER TABLE chargers ADD COLUMN registration TEXT NOT NULL DEFAULT 'accepted'
    CHECK (registration IN ('accepted', 'pending', 'rejected'));
