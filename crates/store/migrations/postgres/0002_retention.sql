-- Retention: push keys are pruned by the time they were received.
CREATE INDEX protocol_pushes_received ON protocol_pushes (received_at);
