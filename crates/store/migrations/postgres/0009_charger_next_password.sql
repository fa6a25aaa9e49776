-- A charger's new HTTP Basic password while it is being rotated through the charger
-- (ChangeConfiguration AuthorizationKey / SetVariables BasicAuthPassword): accepted beside the
-- old one until the charger first logs in with it, which makes it the only one.
ALTER TABLE chargers ADD COLUMN next_password_hash TEXT;
