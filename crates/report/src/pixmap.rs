//! The PNG back end of a [`Canvas`](crate::canvas::Canvas): a pixel buffer with the few
//! operations a map or chart needs (rectangles, even-odd polygons, thick lines, discs, glyphs
//! from the embedded font), composited "over" so a transparent picture stays an overlay.

use ab_glyph::{point, Font, ScaleFont};

use crate::canvas::Rgba;

/// An RGBA picture.
#[derive(Debug, Clone)]
pub(crate) struct Pixmap {
    pub width: u32,
    pub height: u32,
    pixels: Vec<u8>,
}

impl Pixmap {
    /// A picture of `width` × `height` pixels filled with `background`.
    pub fn new(width: u32, height: u32, background: Rgba) -> Self {
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 4);
        for _ in 0..width as usize * height as usize {
            pixels.extend_from_slice(&background);
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    /// Paints one pixel with `c` at `coverage` (0–1), composited over what is there.
    fn put(&mut self, x: i64, y: i64, c: Rgba, coverage: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let i = ((y as u64 * u64::from(self.width) + x as u64) * 4) as usize;
        let a = f32::from(c[3]) / 255.0 * coverage.clamp(0.0, 1.0);
        if a <= 0.0 {
            return;
        }
        let below = f32::from(self.pixels[i + 3]) / 255.0;
        let out = a + below * (1.0 - a);
        for (k, channel) in c.iter().take(3).enumerate() {
            let v =
                (f32::from(*channel) * a + f32::from(self.pixels[i + k]) * below * (1.0 - a)) / out;
            self.pixels[i + k] = v.round().clamp(0.0, 255.0) as u8;
        }
        self.pixels[i + 3] = (out * 255.0).round() as u8;
    }

    /// Fills the pixels whose centres lie in `[x0, x1) × [y0, y1)`.
    pub fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgba) {
        let (ix0, ix1) = ((x0 - 0.5).ceil() as i64, (x1 - 0.5).ceil() as i64);
        let (iy0, iy1) = ((y0 - 0.5).ceil() as i64, (y1 - 0.5).ceil() as i64);
        for y in iy0.max(0)..iy1.min(i64::from(self.height)) {
            for x in ix0.max(0)..ix1.min(i64::from(self.width)) {
                self.put(x, y, c, 1.0);
            }
        }
    }

    /// Fills closed rings by the even-odd rule (holes stay open), pixel centres inside.
    pub fn fill_rings(&mut self, rings: &[Vec<(f64, f64)>], c: Rgba) {
        let (mut top, mut bottom) = (f64::INFINITY, f64::NEG_INFINITY);
        for p in rings.iter().flatten() {
            top = top.min(p.1);
            bottom = bottom.max(p.1);
        }
        if !top.is_finite() {
            return;
        }
        let first = ((top - 0.5).ceil() as i64).max(0);
        let last = ((bottom - 0.5).floor() as i64).min(i64::from(self.height) - 1);
        let mut xs = Vec::new();
        for py in first..=last {
            let y = py as f64 + 0.5;
            xs.clear();
            for ring in rings {
                let n = ring.len();
                for k in 0..n {
                    let (a, b) = (ring[k], ring[(k + 1) % n]);
                    if (a.1 <= y) != (b.1 <= y) {
                        xs.push(a.0 + (y - a.1) / (b.1 - a.1) * (b.0 - a.0));
                    }
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let from = (pair[0] - 0.5).ceil() as i64;
                let to = (pair[1] - 0.5).floor() as i64;
                for px in from.max(0)..=to.min(i64::from(self.width) - 1) {
                    self.put(px, py, c, 1.0);
                }
            }
        }
    }

    /// A filled disc, its edge anti-aliased.
    pub fn disc(&mut self, cx: f64, cy: f64, r: f64, c: Rgba) {
        let (x0, x1) = ((cx - r - 1.0).floor() as i64, (cx + r + 1.0).ceil() as i64);
        let (y0, y1) = ((cy - r - 1.0).floor() as i64, (cy + r + 1.0).ceil() as i64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                let coverage = (r + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    self.put(x, y, c, coverage as f32);
                }
            }
        }
    }

    /// A line `width` pixels wide with round ends.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, c: Rgba) {
        let r = (width / 2.0).max(0.35);
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let len2 = dx * dx + dy * dy;
        let (x0, x1) = (from.0.min(to.0) - r - 1.0, from.0.max(to.0) + r + 1.0);
        let (y0, y1) = (from.1.min(to.1) - r - 1.0, from.1.max(to.1) + r + 1.0);
        for y in (y0.floor() as i64).max(0)..=(y1.ceil() as i64).min(i64::from(self.height) - 1) {
            for x in (x0.floor() as i64).max(0)..=(x1.ceil() as i64).min(i64::from(self.width) - 1)
            {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let t = if len2 > 0.0 {
                    (((px - from.0) * dx + (py - from.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (qx, qy) = (from.0 + t * dx - px, from.1 + t * dy - py);
                let coverage = (r + 0.5 - (qx * qx + qy * qy).sqrt()).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    self.put(x, y, c, coverage as f32);
                }
            }
        }
    }

    /// Text with its baseline starting at (`x`, `y`), `size` pixels high, anti-aliased.
    pub fn text(&mut self, x: f64, y: f64, text: &str, size: f64, c: Rgba) {
        let Some(face) = crate::font::face() else {
            return;
        };
        let mut pen = x as f32;
        let scale = crate::font::em_scale(face, size);
        let scaled = face.as_scaled(scale);
        for ch in text.chars() {
            let id = face.glyph_id(ch);
            let glyph = id.with_scale_and_position(scale, point(pen, y as f32));
            pen += scaled.h_advance(id);
            if let Some(outline) = face.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
                outline.draw(|gx, gy, coverage| {
                    self.put(left + i64::from(gx), top + i64::from(gy), c, coverage);
                });
            }
        }
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
}
