//! Figures for people: tables written as CSV, XLSX and GeoJSON; drawings (maps, charts) written
//! as PNG, SVG or PDF in a real font that covers Chinese; and documents (the regulator's
//! monthly report) laid out on PDF pages. The server's exports and the CLI's reports both go
//! through here, so a table or a map looks the same wherever it is downloaded from.

pub mod canvas;
pub mod chart;
pub mod document;
pub mod font;
pub mod map;
mod pixmap;
pub mod table;

pub use canvas::{Anchor, Canvas, DrawError, DrawingFormat, Pen, Rgba, Shape};
pub use map::Lang;
pub use table::{workbook, Cell, Column, Kind, Table, TableError};
