-- How many chargers are registered without a station, kept by triggers: an unknown charger's
-- first-use registration checks its limit here instead of counting the chargers table (which a
-- province's 100,000 first connections would scan once each).
CREATE TABLE charger_tallies (
    shard    INTEGER PRIMARY KEY,
    unplaced INTEGER NOT NULL
);
INSERT INTO charger_tallies (shard, unplaced)
    SELECT 0, COUNT(*) FROM chargers WHERE station_id IS NULL;

CREATE TRIGGER charger_tally_insert AFTER INSERT ON chargers WHEN NEW.station_id IS NULL
BEGIN
    UPDATE charger_tallies SET unplaced = unplaced + 1 WHERE shard = 0;
END;

CREATE TRIGGER charger_tally_delete AFTER DELETE ON chargers WHEN OLD.station_id IS NULL
BEGIN
    UPDATE charger_tallies SET unplaced = unplaced - 1 WHERE shard = 0;
END;

CREATE TRIGGER charger_tally_update AFTER UPDATE OF station_id ON chargers
    WHEN (OLD.station_id IS NULL) <> (NEW.station_id IS NULL)
BEGIN
    UPDATE charger_tallies
        SET unplaced = unplaced + (NEW.station_id IS NULL) - (OLD.station_id IS NULL)
        WHERE shard = 0;
END;
