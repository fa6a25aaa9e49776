-- How many chargers are registered without a station, kept by triggers: an unknown charger's
-- first-use registration checks its limit here instead of counting the chargers table (which a
-- province's 100,000 first connections would scan once each). Sixteen shards (by the charger
-- id's hash): concurrent registrations on several nodes rarely wait for one another's row.
CREATE TABLE charger_tallies (
    shard    SMALLINT PRIMARY KEY,
    unplaced BIGINT NOT NULL
);
INSERT INTO charger_tallies (shard, unplaced) SELECT s, 0 FROM generate_series(0, 15) AS s;
UPDATE charger_tallies
    SET unplaced = (SELECT COUNT(*) FROM chargers WHERE station_id IS NULL)
    WHERE shard = 0;

CREATE FUNCTION tally_unplaced_charger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.station_id IS NULL THEN
        UPDATE charger_tallies SET unplaced = unplaced + 1
            WHERE shard = hashtext(NEW.charger_id) & 15;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.station_id IS NULL THEN
        UPDATE charger_tallies SET unplaced = unplaced - 1
            WHERE shard = hashtext(OLD.charger_id) & 15;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER charger_tally_insert AFTER INSERT ON chargers
    FOR EACH ROW WHEN (NEW.station_id IS NULL) EXECUTE FUNCTION tally_unplaced_charger();
CREATE TRIGGER charger_tally_delete AFTER DELETE ON chargers
    FOR EACH ROW WHEN (OLD.station_id IS NULL) EXECUTE FUNCTION tally_unplaced_charger();
CREATE TRIGGER charger_tally_update AFTER UPDATE OF station_id ON chargers
    FOR EACH ROW WHEN ((OLD.station_id IS NULL) <> (NEW.station_id IS NULL))
    EXECUTE FUNCTION tally_unplaced_charger();
