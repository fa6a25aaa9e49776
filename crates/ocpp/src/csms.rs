//! The central system's side of one charger connection.
