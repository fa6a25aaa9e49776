//! Maps drawn without a map server: county boundaries and names, coverage shading from a raster
//! of distances, stations, marked townships and proposed sites, with a title, the data's date, a
//! legend, a scale bar and a north arrow, in Chinese or English. Equirectangular at the map's
//! middle latitude (what a city-sized map needs). A map is a [`Canvas`]: PNG, SVG or PDF.

use evgrid_geo::field::{Raster, M_PER_DEG};
use evgrid_geo::MultiPolygon;
use evgrid_model::LatLng;

use crate::canvas::{Anchor, Canvas, Pen, Rgba, Shape};
use crate::font::text_width;

/// The language of a drawing's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// `zh` or `en`, as a query parameter or option spells it.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" | "chinese" => Some(Self::Zh),
            "en" | "english" => Some(Self::En),
            _ => None,
        }
    }

    /// The words in this language: `zh` or `en`.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    /// The BCP 47 tag of a document in this language.
    pub fn tag(self) -> &'static str {
        self.pick("zh-CN", "en")
    }
}

/// Where lng/lat land on a drawing: a box of the drawing (`x`, `y`, `width`, `height`) shows
/// `bbox` (min lng, min lat, max lng, max lat).
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    pub bbox: [f64; 4],
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Projection {
    /// A projection `width` units wide whose height keeps `bbox`'s shape at its middle latitude.
    pub fn keeping_shape(bbox: [f64; 4], x: f64, y: f64, width: f64) -> Self {
        let mid = ((bbox[1] + bbox[3]) / 2.0).to_radians().cos();
        let aspect = (bbox[3] - bbox[1]) / ((bbox[2] - bbox[0]) * mid).max(1e-9);
        Self {
            bbox,
            x,
            y,
            width,
            height: (width * aspect).clamp(16.0, 16_000.0),
        }
    }

    /// Drawing coordinates (x right, y down) of a point.
    pub fn to_xy(&self, lng: f64, lat: f64) -> (f64, f64) {
        (
            self.x + (lng - self.bbox[0]) / (self.bbox[2] - self.bbox[0]) * self.width,
            self.y + (self.bbox[3] - lat) / (self.bbox[3] - self.bbox[1]) * self.height,
        )
    }

    /// Kilometres per drawing unit, east-west at the middle latitude.
    pub fn km_per_unit(&self) -> f64 {
        let mid = ((self.bbox[1] + self.bbox[3]) / 2.0).to_radians().cos();
        (self.bbox[2] - self.bbox[0]) * mid * M_PER_DEG / 1000.0 / self.width
    }

    /// The rings of an area in drawing coordinates.
    pub fn rings(&self, area: &MultiPolygon) -> Vec<Vec<(f64, f64)>> {
        area.polygons
            .iter()
            .flat_map(|p| std::iter::once(&p.exterior).chain(p.holes.iter()))
            .map(|ring| ring.iter().map(|c| self.to_xy(c[0], c[1])).collect())
            .collect()
    }
}

/// Paints every raster cell with the colour `colour` gives its value (none: left as is), as
/// one set of rectangles per colour with the cells of a row merged into runs.
pub fn shade(
    canvas: &mut Canvas,
    projection: &Projection,
    raster: &Raster,
    values: &[f32],
    colour: impl Fn(f32) -> Option<Rgba>,
) {
    let mut by_colour: Vec<(Rgba, Vec<[f64; 4]>)> = Vec::new();
    let mut i = 0;
    for row in &raster.rows {
        let (_, y0) = projection.to_xy(raster.lng0, row.lat + raster.dlat / 2.0);
        let (_, y1) = projection.to_xy(raster.lng0, row.lat - raster.dlat / 2.0);
        for (c0, c1) in &row.spans {
            let mut run: Option<(Rgba, i64, i64)> = None;
            for c in *c0..=*c1 {
                let v = values.get(i).copied().unwrap_or(f32::INFINITY);
                i += 1;
                let col = colour(v);
                match (&mut run, col) {
                    (Some((rc, _, end)), Some(col)) if *rc == col && *end + 1 == c => *end = c,
                    _ => {
                        if let Some(done) = run.take() {
                            push_run(&mut by_colour, projection, raster, done, (y0, y1));
                        }
                        run = col.map(|col| (col, c, c));
                    }
                }
            }
            if let Some(done) = run.take() {
                push_run(&mut by_colour, projection, raster, done, (y0, y1));
            }
        }
    }
    for (fill, rects) in by_colour {
        canvas.push(Shape::Rects { fill, rects });
    }
}

fn push_run(
    by_colour: &mut Vec<(Rgba, Vec<[f64; 4]>)>,
    projection: &Projection,
    raster: &Raster,
    (colour, first, last): (Rgba, i64, i64),
    (y0, y1): (f64, f64),
) {
    let (x0, _) = projection.to_xy(raster.lng(first) - raster.dlng / 2.0, 0.0);
    let (x1, _) = projection.to_xy(raster.lng(last) + raster.dlng / 2.0, 0.0);
    let rect = [x0, y0, x1 - x0, y1 - y0];
    match by_colour.iter_mut().find(|(c, _)| *c == colour) {
        Some((_, rects)) => rects.push(rect),
        None => by_colour.push((colour, vec![rect])),
    }
}

/// Distance classes of the coverage shading: upper bound (km), colour and label.
pub const DISTANCE_CLASSES: [(f64, Rgba, &str, &str); 5] = [
    (1.0, [26, 152, 80, 255], "1 公里以内", "within 1 km"),
    (2.0, [102, 189, 99, 255], "1–2 公里", "1–2 km"),
    (3.0, [217, 239, 139, 255], "2–3 公里", "2–3 km"),
    (5.0, [254, 224, 139, 255], "3–5 公里", "3–5 km"),
    (
        f64::INFINITY,
        [246, 206, 200, 255],
        "5 公里以上",
        "over 5 km",
    ),
];

/// The colour of a distance in metres.
pub fn distance_colour(d: f32) -> Rgba {
    let km = f64::from(d) / 1000.0;
    DISTANCE_CLASSES
        .iter()
        .find(|(limit, ..)| km <= *limit)
        .map_or(DISTANCE_CLASSES[4].1, |(_, c, ..)| *c)
}

/// What a coverage map shows.
#[derive(Debug)]
pub struct CoverageMap<'a> {
    pub lang: Lang,
    pub title: String,
    /// The line under the title: the data's date and source.
    pub subtitle: String,
    pub counties: Vec<&'a MultiPolygon>,
    /// Names written on the map (county names) at their points.
    pub labels: Vec<(LatLng, String)>,
    pub raster: &'a Raster,
    pub distances: &'a [f32],
    pub stations: &'a [LatLng],
    pub uncovered_townships: &'a [LatLng],
    /// Proposed new sites with their piles (a siting plan), drawn as discs sized by piles.
    pub proposed: &'a [(LatLng, u32)],
    /// Lines of figures printed under the legend.
    pub figures: Vec<String>,
    /// Width of the drawing in units (pixels at PNG scale 1).
    pub width: u32,
}

/// Colour of proposed sites.
pub const PROPOSED: Rgba = [235, 110, 0, 255];
const STATION: Rgba = [25, 50, 140, 255];
const UNCOVERED: Rgba = [120, 0, 60, 255];
const INK: Rgba = [20, 20, 20, 255];
const GREY: Rgba = [80, 80, 80, 255];

/// Draws a coverage map: title and date, shading by distance to the nearest public station,
/// county boundaries and names, public stations, townships without one crossed out, proposed
/// sites, a scale bar, a north arrow, the legend and the figures.
pub fn coverage_map(m: &CoverageMap<'_>) -> Canvas {
    let lang = m.lang;
    let bbox = evgrid_geo::polygon::bbox_of(m.counties.iter().copied());
    let pad = 0.02 * (bbox[2] - bbox[0]);
    let bbox = [bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad];
    let width = f64::from(m.width.clamp(200, 8000));
    let u = width / 1000.0; // one unit of type and line at a 1000-wide map
    let title_size = 26.0 * u;
    let header = title_size * 2.6;
    let projection = Projection::keeping_shape(bbox, 0.0, header, width);
    let text_size = 15.0 * u;
    let line_h = text_size * 1.6;
    let legend_lines =
        DISTANCE_CLASSES.len() + 2 + usize::from(!m.proposed.is_empty()) + m.figures.len();
    let legend_h = line_h * legend_lines as f64 + 24.0 * u;
    let height = header + projection.height + legend_h;
    let mut c = Canvas::new(width, height);
    // Title and date.
    c.text(
        (16.0 * u, title_size * 1.15),
        title_size,
        m.title.clone(),
        INK,
        Anchor::Start,
    );
    c.text(
        (16.0 * u, title_size * 1.15 + text_size * 1.5),
        text_size,
        m.subtitle.clone(),
        GREY,
        Anchor::Start,
    );
    // The map.
    c.rect(0.0, header, width, projection.height, [236, 240, 244, 255]);
    shade(&mut c, &projection, m.raster, m.distances, |d| {
        Some(distance_colour(d))
    });
    let dot = (width / 1100.0).max(1.0);
    for p in m.stations {
        c.circle(
            projection.to_xy(p.lng, p.lat),
            dot,
            Some(STATION),
            Some(Pen::new([25, 50, 140, 90], 1.0)),
        );
    }
    for area in &m.counties {
        c.push(Shape::Polygon {
            rings: projection.rings(area),
            fill: None,
            stroke: Some(Pen::new([60, 60, 60, 255], (width / 800.0).max(1.0))),
        });
    }
    for t in m.uncovered_townships {
        cross(&mut c, projection.to_xy(t.lng, t.lat), dot * 2.5);
    }
    for (p, piles) in m.proposed {
        let r = dot * (1.5 + f64::from(*piles).sqrt() * 0.6);
        c.circle(
            projection.to_xy(p.lng, p.lat),
            r,
            Some(PROPOSED),
            Some(Pen::new([255, 255, 255, 255], 1.0)),
        );
    }
    let label_size = 14.0 * u;
    for (p, name) in &m.labels {
        let (x, y) = projection.to_xy(p.lng, p.lat);
        let w = text_width(name, label_size);
        c.rect(
            x - w / 2.0 - 3.0 * u,
            y - label_size * 0.95,
            w + 6.0 * u,
            label_size * 1.3,
            [255, 255, 255, 170],
        );
        c.text((x, y), label_size, name.clone(), INK, Anchor::Middle);
    }
    north_arrow(&mut c, (width - 40.0 * u, header + 20.0 * u), u, lang);
    scale_bar(&mut c, &projection, u, lang);
    // Legend.
    let x = 16.0 * u;
    let mut y = header + projection.height + 16.0 * u;
    let key = |y: f64| (x + 8.0 * u, y - text_size * 0.35);
    let distance_word = lang.pick(
        "到最近公共充电站的距离：",
        "Distance to the nearest public station: ",
    );
    for (_, colour, zh, en) in DISTANCE_CLASSES {
        c.rect(x, y - text_size * 0.85, 16.0 * u, text_size * 0.9, colour);
        c.text(
            (x + 24.0 * u, y),
            text_size,
            format!("{distance_word}{}", lang.pick(zh, en)),
            INK,
            Anchor::Start,
        );
        y += line_h;
    }
    let (kx, ky) = key(y);
    c.circle((kx, ky), dot + 1.5, Some(STATION), None);
    c.text(
        (x + 24.0 * u, y),
        text_size,
        lang.pick("公共充电站", "Public station"),
        INK,
        Anchor::Start,
    );
    y += line_h;
    let (kx, ky) = key(y);
    cross(&mut c, (kx, ky), 5.0 * u);
    c.text(
        (x + 24.0 * u, y),
        text_size,
        lang.pick("无公共充电站的乡镇", "Township without a public station"),
        INK,
        Anchor::Start,
    );
    y += line_h;
    if !m.proposed.is_empty() {
        let (kx, ky) = key(y);
        c.circle((kx, ky), 6.0 * u, Some(PROPOSED), None);
        c.text(
            (x + 24.0 * u, y),
            text_size,
            lang.pick(
                "规划新站点（大小：充电桩数）",
                "Proposed new site (size: piles)",
            ),
            INK,
            Anchor::Start,
        );
        y += line_h;
    }
    for f in &m.figures {
        c.text((x, y), text_size, f.clone(), GREY, Anchor::Start);
        y += line_h;
    }
    c
}

/// A cross marker (×) of half-size `r`.
fn cross(c: &mut Canvas, (x, y): (f64, f64), r: f64) {
    let pen = Pen::new(UNCOVERED, (r / 2.5).clamp(1.2, 4.0));
    c.line((x - r, y - r), (x + r, y + r), pen);
    c.line((x - r, y + r), (x + r, y - r), pen);
}

/// An arrow pointing up with "北" or "N" under it.
fn north_arrow(c: &mut Canvas, (x, y): (f64, f64), u: f64, lang: Lang) {
    let (w, h) = (9.0 * u, 26.0 * u);
    c.push(Shape::Polygon {
        rings: vec![vec![
            (x, y),
            (x + w, y + h),
            (x, y + h * 0.72),
            (x - w, y + h),
        ]],
        fill: Some(INK),
        stroke: None,
    });
    c.text(
        (x, y + h + 17.0 * u),
        15.0 * u,
        lang.pick("北", "N"),
        INK,
        Anchor::Middle,
    );
}

/// A scale bar of a round length in the map's bottom left corner.
fn scale_bar(c: &mut Canvas, projection: &Projection, u: f64, lang: Lang) {
    let km_per_unit = projection.km_per_unit();
    let wanted = projection.width * 0.2 * km_per_unit;
    let km = [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .rev()
        .find(|k| *k <= wanted)
        .unwrap_or(1.0);
    let len = km / km_per_unit;
    let (x, y) = (
        projection.x + 20.0 * u,
        projection.y + projection.height - 20.0 * u,
    );
    let h = 6.0 * u;
    c.rect(
        x - 6.0 * u,
        y - 30.0 * u,
        len + 40.0 * u,
        40.0 * u,
        [255, 255, 255, 200],
    );
    c.rect(x, y - h, len / 2.0, h, INK);
    c.push(Shape::Polygon {
        rings: vec![vec![(x, y - h), (x + len, y - h), (x + len, y), (x, y)]],
        fill: None,
        stroke: Some(Pen::new(INK, 1.0 * u.max(0.5))),
    });
    let size = 13.0 * u;
    c.text((x, y - h - 5.0 * u), size, "0", INK, Anchor::Middle);
    c.text(
        (x + len, y - h - 5.0 * u),
        size,
        format!("{km} {}", lang.pick("公里", "km")),
        INK,
        Anchor::Middle,
    );
}

/// A point inside an area to write its name at: the centre of the largest polygon's bounding
/// box when inside it, else the polygon's first vertex nudged inward along the diagonal.
pub fn label_point(area: &MultiPolygon) -> Option<LatLng> {
    let largest = area
        .polygons
        .iter()
        .max_by(|a, b| ring_area(&a.exterior).total_cmp(&ring_area(&b.exterior)))?;
    let (mut lng, mut lat) = (0.0, 0.0);
    let mut weight = 0.0;
    // Area-weighted centroid of the exterior ring.
    let ring = &largest.exterior;
    for k in 0..ring.len() {
        let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
        let cross = a[0] * b[1] - b[0] * a[1];
        weight += cross;
        lng += (a[0] + b[0]) * cross;
        lat += (a[1] + b[1]) * cross;
    }
    if weight.abs() > 1e-12 {
        let p = LatLng::new(lat / (3.0 * weight), lng / (3.0 * weight));
        if area.contains(p) {
            return Some(p);
        }
    }
    let bbox = evgrid_geo::polygon::bbox_of([area]);
    let centre = LatLng::new((bbox[1] + bbox[3]) / 2.0, (bbox[0] + bbox[2]) / 2.0);
    Some(if area.contains(centre) {
        centre
    } else {
        LatLng::new(ring[0][1], ring[0][0])
    })
}

fn ring_area(ring: &[[f64; 2]]) -> f64 {
    (0..ring.len())
        .map(|k| {
            let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        .abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use evgrid_geo::Polygon;

    fn square() -> MultiPolygon {
        MultiPolygon::new(vec![Polygon {
            exterior: vec![
                [114.0, 25.0],
                [114.2, 25.0],
                [114.2, 25.2],
                [114.0, 25.2],
                [114.0, 25.0],
            ],
            holes: vec![],
        }])
    }

    fn map(lang: Lang, sq: &MultiPolygon, raster: &Raster, distances: &[f32]) -> Canvas {
        coverage_map(&CoverageMap {
            lang,
            title: "测试县 公共充电覆盖".into(),
            subtitle: "数据截至 2026-11-30".into(),
            counties: vec![sq],
            labels: vec![(label_point(sq).unwrap(), "测试县".into())],
            raster,
            distances,
            stations: &[LatLng::new(25.1, 114.1)],
            uncovered_townships: &[LatLng::new(25.05, 114.05)],
            proposed: &[(LatLng::new(25.12, 114.12), 20)],
            figures: vec!["规划服务半径 3.0 公里".into()],
            width: 400,
        })
    }

    #[test]
    fn a_coverage_map_has_title_names_legend_scale_and_shading() {
        let sq = square();
        let raster = Raster::cover(&[&sq], 1000.0);
        let distances: Vec<f32> = (0..raster.len()).map(|i| (i * 50) as f32).collect();
        let c = map(Lang::Zh, &sq, &raster, &distances);
        let texts: Vec<&str> = c.texts().collect();
        for expected in [
            "测试县 公共充电覆盖",
            "数据截至 2026-11-30",
            "测试县",
            "北",
            "公共充电站",
        ] {
            assert!(texts.contains(&expected), "{expected} in {texts:?}");
        }
        assert!(
            texts.iter().any(|t| t.ends_with(" 公里")),
            "a scale bar: {texts:?}"
        );
        let shaded: usize = c
            .shapes()
            .iter()
            .map(|s| match s {
                Shape::Rects { fill, rects } if *fill == DISTANCE_CLASSES[0].1 => rects.len(),
                _ => 0,
            })
            .sum();
        assert!(shaded > 0, "cells within 1 km are shaded green");
        let english = map(Lang::En, &sq, &raster, &distances);
        assert!(english.texts().any(|t| t == "N"));
        assert!(english.texts().any(|t| t == "Public station"));
        let png = c.to_png(1.0).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().width, 400);
        assert!(c.to_svg().contains("测试县"));
    }

    #[test]
    fn the_label_point_of_a_square_is_its_centre() {
        let p = label_point(&square()).unwrap();
        assert!(
            (p.lat - 25.1).abs() < 1e-9 && (p.lng - 114.1).abs() < 1e-9,
            "{p:?}"
        );
    }
}
