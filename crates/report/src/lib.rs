//! Figures for people: tables written as CSV, XLSX and GeoJSON, and PNG maps. The server's
//! exports and the CLI's reports both go through here, so a table looks the same wherever it is
//! downloaded from.

mod font;
pub mod map;
pub mod table;

pub use table::{workbook, Cell, Column, Kind, Table, TableError};
