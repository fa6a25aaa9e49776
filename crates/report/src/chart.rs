//! Charts as drawings: horizontal bars for groups (counties, operators), a line for a daily
//! series (growth, utilization), with axes, ticks and labels in the embedded font.

use crate::canvas::{Anchor, Canvas, Pen, Rgba, Shape};
use crate::font::text_width;

const AXIS: Rgba = [90, 90, 90, 255];
const GRID: Rgba = [220, 224, 230, 255];
const INK: Rgba = [30, 30, 30, 255];

/// Horizontal bars, one per row: label on the left, the value's text after the bar.
pub fn bars(
    rows: &[(String, f64)],
    colour: Rgba,
    width: f64,
    label: impl Fn(f64) -> String,
) -> Canvas {
    let size = 9.0;
    let bar_h = 13.0;
    let gap = 5.0;
    let label_w = rows
        .iter()
        .map(|(name, _)| text_width(name, size))
        .fold(0.0, f64::max)
        + 8.0;
    let value_w = rows
        .iter()
        .map(|(_, v)| text_width(&label(*v), size))
        .fold(0.0, f64::max)
        + 8.0;
    let height = rows.len() as f64 * (bar_h + gap) + gap;
    let mut c = Canvas::new(width, height.max(bar_h));
    let max = rows.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let span = (width - label_w - value_w).max(10.0);
    let mut rects = Vec::new();
    for (i, (name, value)) in rows.iter().enumerate() {
        let y = gap + i as f64 * (bar_h + gap);
        let baseline = y + bar_h / 2.0 + size * 0.35;
        c.text(
            (label_w - 6.0, baseline),
            size,
            name.clone(),
            INK,
            Anchor::End,
        );
        let w = if max > 0.0 {
            value.max(0.0) / max * span
        } else {
            0.0
        };
        rects.push([label_w, y, w, bar_h]);
        c.text(
            (label_w + w + 4.0, baseline),
            size,
            label(*value),
            INK,
            Anchor::Start,
        );
    }
    c.push(Shape::Rects {
        fill: colour,
        rects,
    });
    c.line((label_w, 0.0), (label_w, height), Pen::new(AXIS, 0.8));
    c
}

/// A line through a daily series with its first, last and some labels between under the axis,
/// and round ticks on the value axis starting at zero.
pub fn line(
    points: &[(String, f64)],
    colour: Rgba,
    (width, height): (f64, f64),
    label: impl Fn(f64) -> String,
) -> Canvas {
    let size = 8.0;
    let mut c = Canvas::new(width, height);
    let max = points.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let ticks = nice_ticks(max, 5);
    let top_value = ticks.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let left = ticks
        .iter()
        .map(|t| text_width(&label(*t), size))
        .fold(0.0, f64::max)
        + 10.0;
    let (top, bottom, right) = (8.0, height - 22.0, width - 10.0);
    let y_of = |v: f64| bottom - v / top_value * (bottom - top);
    for t in &ticks {
        let y = y_of(*t);
        c.line((left, y), (right, y), Pen::new(GRID, 0.6));
        c.text(
            (left - 4.0, y + size * 0.35),
            size,
            label(*t),
            AXIS,
            Anchor::End,
        );
    }
    c.line((left, bottom), (right, bottom), Pen::new(AXIS, 0.8));
    c.line((left, top), (left, bottom), Pen::new(AXIS, 0.8));
    let n = points.len();
    let x_of = |i: usize| {
        if n <= 1 {
            (left + right) / 2.0
        } else {
            left + i as f64 / (n - 1) as f64 * (right - left)
        }
    };
    let every = (n / 6).max(1);
    for (i, (name, _)) in points.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            c.text(
                (x_of(i), bottom + 12.0),
                size,
                name.clone(),
                AXIS,
                Anchor::Middle,
            );
        }
    }
    let path: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| (x_of(i), y_of(*v)))
        .collect();
    if path.len() > 1 {
        c.push(Shape::Polyline {
            points: path.clone(),
            pen: Pen::new(colour, 1.6),
        });
    }
    for p in path {
        c.circle(p, 1.8, Some(colour), None);
    }
    c
}

/// The decimals that print every tick of [`nice_ticks`]`(max, count)` exactly (0.0005 → 4,
/// 2.5 → 1, 5000 → 0).
pub fn tick_decimals(max: f64, count: usize) -> usize {
    let ticks = nice_ticks(max, count);
    let step = ticks.get(1).copied().unwrap_or(1.0);
    (0..=8)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .map_or(8, |d| d as usize)
}

/// Round tick values from 0 to at least `max`, about `count` of them.
pub fn nice_ticks(max: f64, count: usize) -> Vec<f64> {
    if !max.is_finite() || max <= 0.0 {
        return vec![0.0, 1.0];
    }
    let raw = max / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let steps = (max / step).ceil() as usize;
    (0..=steps).map(|k| k as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_reach_the_maximum() {
        assert_eq!(
            nice_ticks(19_000.0, 5),
            vec![0.0, 5000.0, 10_000.0, 15_000.0, 20_000.0]
        );
        assert_eq!(
            nice_ticks(0.37, 4),
            vec![0.0, 0.1, 0.2, 0.30000000000000004, 0.4]
        );
        assert_eq!(nice_ticks(0.0, 5), vec![0.0, 1.0]);
        assert_eq!(tick_decimals(0.002, 5), 4);
        assert_eq!(tick_decimals(11.0, 5), 1);
        assert_eq!(tick_decimals(19_000.0, 5), 0);
    }

    #[test]
    fn bars_label_every_row_and_scale_to_the_largest() {
        let rows = vec![("章贡区".to_owned(), 100.0), ("赣县区".to_owned(), 50.0)];
        let c = bars(&rows, [0, 0, 200, 255], 400.0, |v| format!("{v:.0}"));
        let texts: Vec<&str> = c.texts().collect();
        assert_eq!(texts, ["章贡区", "100", "赣县区", "50"]);
        let widths: Vec<f64> = c
            .shapes()
            .iter()
            .find_map(|s| match s {
                Shape::Rects { rects, .. } => Some(rects.iter().map(|r| r[2]).collect()),
                _ => None,
            })
            .unwrap();
        assert!((widths[0] - 2.0 * widths[1]).abs() < 1e-9);
    }
}
