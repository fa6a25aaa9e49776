//! PNG maps drawn without a map server: county boundaries, coverage shading from a raster of
//! distances, stations and marked townships, with a legend. Equirectangular at the map's middle
//! latitude (what a city-sized map needs).

use evgrid_geo::field::Raster;
use evgrid_geo::MultiPolygon;
use evgrid_model::LatLng;

use crate::font::glyph;

/// An RGBA colour.
pub type Rgba = [u8; 4];

/// A picture being drawn over a geographic box.
#[derive(Debug, Clone)]
pub struct MapImage {
    pub width: u32,
    pub height: u32,
    /// min lng, min lat, max lng, max lat shown.
    pub bbox: [f64; 4],
    pixels: Vec<u8>,
    /// Pixels reserved at the bottom for the legend.
    pub margin_bottom: u32,
    /// Paint replaces pixels, alpha included (an overlay), instead of blending onto paper.
    overlay: bool,
}

impl MapImage {
    /// A white picture `width` pixels wide showing `bbox` (keeping its shape), plus a band of
    /// `margin_bottom` pixels under the map.
    pub fn new(bbox: [f64; 4], width: u32, margin_bottom: u32) -> Self {
        let mid = ((bbox[1] + bbox[3]) / 2.0).to_radians().cos();
        let aspect = (bbox[3] - bbox[1]) / ((bbox[2] - bbox[0]) * mid).max(1e-9);
        let width = width.clamp(64, 8000);
        let map_height = ((f64::from(width) * aspect).round() as u32).clamp(16, 8000);
        let height = map_height + margin_bottom;
        Self {
            width,
            height,
            bbox,
            pixels: vec![255; (width * height * 4) as usize],
            margin_bottom,
            overlay: false,
        }
    }

    /// A transparent overlay of exactly `width` × `height` pixels over `bbox` (for a map
    /// library to stretch over the same box): paint replaces pixels, alpha included.
    pub fn transparent(bbox: [f64; 4], width: u32, height: u32) -> Self {
        let (width, height) = (width.clamp(1, 8000), height.clamp(1, 8000));
        Self {
            width,
            height,
            bbox,
            pixels: vec![0; (width * height * 4) as usize],
            margin_bottom: 0,
            overlay: true,
        }
    }

    fn map_height(&self) -> f64 {
        f64::from(self.height - self.margin_bottom)
    }

    /// Pixel coordinates (x right, y down) of a point.
    pub fn to_px(&self, lng: f64, lat: f64) -> (f64, f64) {
        let x = (lng - self.bbox[0]) / (self.bbox[2] - self.bbox[0]) * f64::from(self.width);
        let y = (self.bbox[3] - lat) / (self.bbox[3] - self.bbox[1]) * self.map_height();
        (x, y)
    }

    /// Paints one pixel, blending by alpha.
    pub fn put(&mut self, x: i64, y: i64, c: Rgba) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let i = ((y as u64 * u64::from(self.width) + x as u64) * 4) as usize;
        if self.overlay {
            self.pixels[i..i + 4].copy_from_slice(&c);
            return;
        }
        let a = u32::from(c[3]);
        for (px, new) in self.pixels[i..i + 3].iter_mut().zip(c) {
            *px = ((u32::from(new) * a + u32::from(*px) * (255 - a)) / 255) as u8;
        }
        self.pixels[i + 3] = 255;
    }

    /// Fills a rectangle of pixels.
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgba) {
        for y in y0.max(0)..y1.min(i64::from(self.height)) {
            for x in x0.max(0)..x1.min(i64::from(self.width)) {
                self.put(x, y, c);
            }
        }
    }

    /// Fills the area (even-odd, holes left open).
    pub fn fill(&mut self, area: &MultiPolygon, c: Rgba) {
        let rows = self.map_height() as i64;
        for py in 0..rows {
            let lat = self.bbox[3]
                - (py as f64 + 0.5) / self.map_height() * (self.bbox[3] - self.bbox[1]);
            for (x0, x1) in area.crossings(lat) {
                let (a, _) = self.to_px(x0, lat);
                let (b, _) = self.to_px(x1, lat);
                for px in (a - 0.5).ceil() as i64..=(b - 0.5).floor() as i64 {
                    self.put(px, py, c);
                }
            }
        }
    }

    /// A line of `width` pixels.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, c: Rgba) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let steps = dx.abs().max(dy.abs()).ceil().max(1.0) as i64;
        let r = (width / 2.0).max(0.5);
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (from.0 + dx * t, from.1 + dy * t);
            if r <= 0.75 {
                self.put(x.round() as i64, y.round() as i64, c);
            } else {
                self.disc((x, y), r, c);
            }
        }
    }

    /// The outlines of an area.
    pub fn stroke(&mut self, area: &MultiPolygon, width: f64, c: Rgba) {
        for poly in &area.polygons {
            for ring in std::iter::once(&poly.exterior).chain(poly.holes.iter()) {
                for pair in ring.windows(2) {
                    let a = self.to_px(pair[0][0], pair[0][1]);
                    let b = self.to_px(pair[1][0], pair[1][1]);
                    self.line(a, b, width, c);
                }
            }
        }
    }

    /// A filled disc around a pixel position.
    pub fn disc(&mut self, at: (f64, f64), r: f64, c: Rgba) {
        let (x0, x1) = ((at.0 - r).floor() as i64, (at.0 + r).ceil() as i64);
        let (y0, y1) = ((at.1 - r).floor() as i64, (at.1 + r).ceil() as i64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (ddx, ddy) = (x as f64 + 0.5 - at.0, y as f64 + 0.5 - at.1);
                if ddx * ddx + ddy * ddy <= r * r {
                    self.put(x, y, c);
                }
            }
        }
    }

    /// A point marker: a disc with an outline.
    pub fn marker(&mut self, p: LatLng, r: f64, fill: Rgba, outline: Rgba) {
        let at = self.to_px(p.lng, p.lat);
        self.disc(at, r + 1.0, outline);
        self.disc(at, r, fill);
    }

    /// A cross marker (×) of half-size `r`.
    pub fn cross(&mut self, p: LatLng, r: f64, c: Rgba) {
        let (x, y) = self.to_px(p.lng, p.lat);
        self.line((x - r, y - r), (x + r, y + r), 2.5, c);
        self.line((x - r, y + r), (x + r, y - r), 2.5, c);
    }

    /// Paints every raster cell with the colour `colour` gives its value (none: left as is).
    pub fn shade(&mut self, raster: &Raster, values: &[f32], colour: impl Fn(f32) -> Option<Rgba>) {
        let mut i = 0;
        for row in &raster.rows {
            let (_, y0) = self.to_px(raster.lng0, row.lat + raster.dlat / 2.0);
            let (_, y1) = self.to_px(raster.lng0, row.lat - raster.dlat / 2.0);
            for (c0, c1) in &row.spans {
                for c in *c0..=*c1 {
                    let v = values.get(i).copied().unwrap_or(f32::INFINITY);
                    i += 1;
                    if let Some(col) = colour(v) {
                        let lng = raster.lng(c);
                        let (x0, _) = self.to_px(lng - raster.dlng / 2.0, row.lat);
                        let (x1, _) = self.to_px(lng + raster.dlng / 2.0, row.lat);
                        self.rect(
                            x0.floor() as i64,
                            y0.floor() as i64,
                            x1.ceil() as i64,
                            y1.ceil() as i64,
                            col,
                        );
                    }
                }
            }
        }
    }

    /// Text in the 5 × 7 font, `scale` pixels per font pixel; returns the width drawn.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, c: Rgba) -> i64 {
        let mut cx = x;
        for ch in text.chars() {
            if let Some(rows) = glyph(ch) {
                for (ry, bits) in rows.iter().enumerate() {
                    for rx in 0..5 {
                        if bits & (0x10 >> rx) != 0 {
                            self.rect(
                                cx + rx * scale,
                                y + ry as i64 * scale,
                                cx + (rx + 1) * scale,
                                y + (ry as i64 + 1) * scale,
                                c,
                            );
                        }
                    }
                }
            }
            cx += 6 * scale;
        }
        cx - x
    }

    /// The picture as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header()?;
            w.write_image_data(&self.pixels)?;
        }
        Ok(out)
    }

    /// The colour of a pixel (tests).
    pub fn pixel(&self, x: u32, y: u32) -> Rgba {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.pixels[i],
            self.pixels[i + 1],
            self.pixels[i + 2],
            self.pixels[i + 3],
        ]
    }
}

/// Distance classes of the coverage shading: upper bound (km) and colour.
pub const DISTANCE_CLASSES: [(f64, Rgba, &str); 5] = [
    (1.0, [26, 152, 80, 255], "WITHIN 1 KM"),
    (2.0, [102, 189, 99, 255], "1-2 KM"),
    (3.0, [217, 239, 139, 255], "2-3 KM"),
    (5.0, [254, 224, 139, 255], "3-5 KM"),
    (f64::INFINITY, [246, 206, 200, 255], "OVER 5 KM"),
];

/// The colour of a distance in metres.
pub fn distance_colour(d: f32) -> Rgba {
    let km = f64::from(d) / 1000.0;
    DISTANCE_CLASSES
        .iter()
        .find(|(limit, _, _)| km <= *limit)
        .map_or(DISTANCE_CLASSES[4].1, |(_, c, _)| *c)
}

/// What a coverage map shows.
#[derive(Debug)]
pub struct CoverageMap<'a> {
    pub title: &'a str,
    pub counties: Vec<&'a MultiPolygon>,
    pub raster: &'a Raster,
    pub distances: &'a [f32],
    pub stations: &'a [LatLng],
    pub uncovered_townships: &'a [LatLng],
    /// Proposed new sites with their piles (a siting plan), drawn as discs sized by piles.
    pub proposed: &'a [(LatLng, u32)],
    /// Lines of figures printed under the legend.
    pub figures: Vec<String>,
    pub width: u32,
}

/// Colour of proposed sites.
const PROPOSED: Rgba = [235, 110, 0, 255];

/// Draws a coverage map: shading by distance to the nearest public station, county
/// boundaries, public stations, townships without one crossed out, legend and figures.
pub fn coverage_map(m: &CoverageMap<'_>) -> Result<Vec<u8>, png::EncodingError> {
    let bbox = evgrid_geo::polygon::bbox_of(m.counties.iter().copied());
    let pad = 0.02 * (bbox[2] - bbox[0]);
    let bbox = [bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad];
    let scale = i64::from((m.width / 500).max(1));
    let line_h = 10 * scale;
    let legend_lines =
        DISTANCE_CLASSES.len() + 3 + m.figures.len() + usize::from(!m.proposed.is_empty());
    let legend_h = line_h * legend_lines as i64 + 30;
    let mut img = MapImage::new(bbox, m.width, u32::try_from(legend_h).unwrap_or(200));
    img.rect(
        0,
        0,
        i64::from(img.width),
        img.map_height() as i64,
        [236, 240, 244, 255],
    );
    img.shade(m.raster, m.distances, |d| Some(distance_colour(d)));
    let dot = (f64::from(m.width) / 1100.0).max(1.0);
    for p in m.stations {
        img.marker(*p, dot, [25, 50, 140, 255], [25, 50, 140, 90]);
    }
    for area in &m.counties {
        img.stroke(
            area,
            (f64::from(m.width) / 800.0).max(1.0),
            [60, 60, 60, 255],
        );
    }
    for t in m.uncovered_townships {
        img.cross(*t, dot * 2.5, [120, 0, 60, 255]);
    }
    for (p, piles) in m.proposed {
        let r = dot * (1.5 + f64::from(*piles).sqrt() * 0.6);
        img.marker(*p, r, PROPOSED, [255, 255, 255, 255]);
    }
    // Legend.
    let mut y = img.map_height() as i64 + 10;
    let x = 10;
    img.text(x, y, m.title, scale, [0, 0, 0, 255]);
    y += line_h + 4;
    for (_, c, label) in DISTANCE_CLASSES {
        img.rect(x, y, x + 8 * scale, y + 7 * scale, c);
        img.text(
            x + 12 * scale,
            y,
            &format!("{label} TO A PUBLIC STATION"),
            scale,
            [0, 0, 0, 255],
        );
        y += line_h;
    }
    img.disc(
        ((x + 4 * scale) as f64, (y + 3 * scale) as f64),
        dot + 1.0,
        [20, 60, 160, 255],
    );
    img.text(x + 12 * scale, y, "PUBLIC STATION", scale, [0, 0, 0, 255]);
    y += line_h;
    let (cx, cy) = ((x + 4 * scale) as f64, (y + 3 * scale) as f64);
    let r = 3.0 * scale as f64;
    img.line((cx - r, cy - r), (cx + r, cy + r), 2.5, [120, 0, 60, 255]);
    img.line((cx - r, cy + r), (cx + r, cy - r), 2.5, [120, 0, 60, 255]);
    img.text(
        x + 12 * scale,
        y,
        "TOWNSHIP WITHOUT A PUBLIC STATION",
        scale,
        [0, 0, 0, 255],
    );
    y += line_h;
    if !m.proposed.is_empty() {
        img.disc(
            ((x + 4 * scale) as f64, (y + 3 * scale) as f64),
            3.0 * scale as f64,
            PROPOSED,
        );
        img.text(
            x + 12 * scale,
            y,
            "PROPOSED NEW SITE (SIZE: PILES)",
            scale,
            [0, 0, 0, 255],
        );
        y += line_h;
    }
    for f in &m.figures {
        img.text(x, y, f, scale, [40, 40, 40, 255]);
        y += line_h;
    }
    img.to_png()
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

    #[test]
    fn fills_land_where_the_area_is() {
        let mut img = MapImage::new([113.9, 24.9, 114.3, 25.3], 200, 0);
        img.fill(&square(), [255, 0, 0, 255]);
        let (cx, cy) = img.to_px(114.1, 25.1);
        assert_eq!(img.pixel(cx as u32, cy as u32), [255, 0, 0, 255]);
        assert_eq!(img.pixel(2, 2), [255, 255, 255, 255]);
        let png = img.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn a_coverage_map_is_a_png_with_the_shading() {
        let sq = square();
        let raster = Raster::cover(&[&sq], 1000.0);
        let distances: Vec<f32> = (0..raster.len()).map(|i| (i * 50) as f32).collect();
        let png = coverage_map(&CoverageMap {
            title: "TEST",
            counties: vec![&sq],
            raster: &raster,
            distances: &distances,
            stations: &[LatLng::new(25.1, 114.1)],
            uncovered_townships: &[LatLng::new(25.05, 114.05)],
            proposed: &[(LatLng::new(25.12, 114.12), 20)],
            figures: vec!["PLANNING RADIUS 3.0 KM".into()],
            width: 400,
        })
        .unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().width, 400);
        assert!(reader.info().height > 400);
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).unwrap();
        let proposed = buf[..frame.buffer_size()]
            .chunks_exact(4)
            .filter(|p| *p == PROPOSED)
            .count();
        assert!(
            proposed > 20,
            "the proposed site and its legend are drawn ({proposed} pixels)"
        );
    }
}
