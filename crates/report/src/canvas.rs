//! A drawing as data: the shapes of a map or chart in the drawing's own units (y down), drawn
//! once and written as PNG (pixels), SVG (text) or into a PDF page (vectors with the embedded
//! font, so the words stay text a reader can search and copy).

use std::fmt::Write as _;

use krilla::geom::{PathBuilder, Point};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use crate::pixmap::Pixmap;

/// An RGBA colour.
pub type Rgba = [u8; 4];

/// What a drawing could not be written as.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("encoding the PNG: {0}")]
    Png(#[from] png::EncodingError),
    #[error("writing the PDF: {0}")]
    Pdf(String),
    #[error("the drawing is empty or too large ({0} × {1})")]
    Size(f64, f64),
}

/// The file formats a drawing is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawingFormat {
    Png,
    Svg,
    Pdf,
}

impl DrawingFormat {
    /// The format a file name asks for by its extension (`.png`, `.svg`, `.pdf`).
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::parse(&ext)
    }

    /// `png`, `svg` or `pdf`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "png" => Some(Self::Png),
            "svg" => Some(Self::Svg),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
            Self::Pdf => "application/pdf",
        }
    }
}

/// Where a text's position is along its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// A line's colour and width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pen {
    pub colour: Rgba,
    pub width: f64,
}

impl Pen {
    pub fn new(colour: Rgba, width: f64) -> Self {
        Self { colour, width }
    }
}

/// One thing drawn.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Rectangles of one colour (x, y, width, height): bars, legend keys, raster cells.
    Rects { fill: Rgba, rects: Vec<[f64; 4]> },
    /// Closed rings filled by the even-odd rule (holes stay open) and/or outlined.
    Polygon {
        rings: Vec<Vec<(f64, f64)>>,
        fill: Option<Rgba>,
        stroke: Option<Pen>,
    },
    /// An open line through the points.
    Polyline { points: Vec<(f64, f64)>, pen: Pen },
    Circle {
        centre: (f64, f64),
        r: f64,
        fill: Option<Rgba>,
        stroke: Option<Pen>,
    },
    /// One line of text, `at` on its baseline.
    Text {
        at: (f64, f64),
        size: f64,
        text: String,
        colour: Rgba,
        anchor: Anchor,
    },
}

/// A drawing `width` × `height` units (pixels for PNG at scale 1, points in a PDF).
#[derive(Debug, Clone)]
pub struct Canvas {
    pub width: f64,
    pub height: f64,
    /// `None`: transparent (an overlay).
    pub background: Option<Rgba>,
    shapes: Vec<Shape>,
}

impl Canvas {
    /// A white drawing.
    pub fn new(width: f64, height: f64) -> Self {
        Self {
            width,
            height,
            background: Some([255, 255, 255, 255]),
            shapes: Vec::new(),
        }
    }

    /// A transparent drawing (a map overlay).
    pub fn transparent(width: f64, height: f64) -> Self {
        Self {
            background: None,
            ..Self::new(width, height)
        }
    }

    /// The shapes, in drawing order.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    pub fn push(&mut self, shape: Shape) {
        self.shapes.push(shape);
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: Rgba) {
        self.push(Shape::Rects {
            fill,
            rects: vec![[x, y, w, h]],
        });
    }

    /// A straight line.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), pen: Pen) {
        self.push(Shape::Polyline {
            points: vec![from, to],
            pen,
        });
    }

    /// A disc with an optional outline.
    pub fn circle(&mut self, centre: (f64, f64), r: f64, fill: Option<Rgba>, stroke: Option<Pen>) {
        self.push(Shape::Circle {
            centre,
            r,
            fill,
            stroke,
        });
    }

    /// A line of text; returns its width.
    pub fn text(
        &mut self,
        at: (f64, f64),
        size: f64,
        text: impl Into<String>,
        colour: Rgba,
        anchor: Anchor,
    ) -> f64 {
        let text = text.into();
        let width = crate::font::text_width(&text, size);
        self.push(Shape::Text {
            at,
            size,
            text,
            colour,
            anchor,
        });
        width
    }

    /// Every text of the drawing, in order (tests, and searching a drawing's words).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.shapes.iter().filter_map(|s| match s {
            Shape::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The drawing in `format` (PNG at one pixel per unit).
    pub fn encode(&self, format: DrawingFormat) -> Result<Vec<u8>, DrawError> {
        match format {
            DrawingFormat::Png => self.to_png(1.0),
            DrawingFormat::Svg => Ok(self.to_svg().into_bytes()),
            DrawingFormat::Pdf => self.to_pdf(),
        }
    }

    /// The drawing as PNG, `scale` pixels per unit.
    pub fn to_png(&self, scale: f64) -> Result<Vec<u8>, DrawError> {
        let (w, h) = (self.width * scale, self.height * scale);
        if !(1.0..=16_000.0).contains(&w) || !(1.0..=16_000.0).contains(&h) {
            return Err(DrawError::Size(w, h));
        }
        let mut px = Pixmap::new(
            w.ceil() as u32,
            h.ceil() as u32,
            self.background.unwrap_or([0, 0, 0, 0]),
        );
        let s = |p: &(f64, f64)| (p.0 * scale, p.1 * scale);
        for shape in &self.shapes {
            match shape {
                Shape::Rects { fill, rects } => {
                    for [x, y, w, h] in rects {
                        px.rect(
                            x * scale,
                            y * scale,
                            (x + w) * scale,
                            (y + h) * scale,
                            *fill,
                        );
                    }
                }
                Shape::Polygon {
                    rings,
                    fill,
                    stroke,
                } => {
                    let rings: Vec<Vec<(f64, f64)>> =
                        rings.iter().map(|r| r.iter().map(s).collect()).collect();
                    if let Some(fill) = fill {
                        px.fill_rings(&rings, *fill);
                    }
                    if let Some(pen) = stroke {
                        for ring in &rings {
                            for k in 0..ring.len() {
                                let next = ring[(k + 1) % ring.len()];
                                px.line(ring[k], next, pen.width * scale, pen.colour);
                            }
                        }
                    }
                }
                Shape::Polyline { points, pen } => {
                    for pair in points.windows(2) {
                        px.line(s(&pair[0]), s(&pair[1]), pen.width * scale, pen.colour);
                    }
                }
                Shape::Circle {
                    centre,
                    r,
                    fill,
                    stroke,
                } => {
                    let (cx, cy) = s(centre);
                    if let Some(pen) = stroke {
                        px.disc(cx, cy, (r + pen.width / 2.0) * scale, pen.colour);
                        let inner = fill.unwrap_or(self.background.unwrap_or([255, 255, 255, 0]));
                        px.disc(cx, cy, (r - pen.width / 2.0).max(0.0) * scale, inner);
                    } else if let Some(fill) = fill {
                        px.disc(cx, cy, r * scale, *fill);
                    }
                }
                Shape::Text {
                    at,
                    size,
                    text,
                    colour,
                    anchor,
                } => {
                    let x = at.0 - offset(text, *size, *anchor);
                    px.text(x * scale, at.1 * scale, text, size * scale, *colour);
                }
            }
        }
        Ok(px.to_png()?)
    }

    /// The drawing as an SVG document (text as text, in the embedded font's family with the
    /// usual Chinese faces after it).
    pub fn to_svg(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.2} {h:.2}" font-family="{family}">"#,
            w = self.width,
            h = self.height,
            family = crate::font::SVG_FAMILY.replace('\'', "&apos;"),
        );
        if let Some(bg) = self.background {
            let _ = writeln!(
                out,
                r#"<rect width="100%" height="100%" {}/>"#,
                svg_paint("fill", bg)
            );
        }
        for shape in &self.shapes {
            match shape {
                Shape::Rects { fill, rects } => {
                    let mut d = String::new();
                    for [x, y, w, h] in rects {
                        let _ = write!(d, "M{x:.2} {y:.2}h{w:.2}v{h:.2}h{:.2}z", -w);
                    }
                    let _ = writeln!(out, r#"<path d="{d}" {}/>"#, svg_paint("fill", *fill));
                }
                Shape::Polygon {
                    rings,
                    fill,
                    stroke,
                } => {
                    let mut d = String::new();
                    for ring in rings {
                        for (k, (x, y)) in ring.iter().enumerate() {
                            let _ = write!(d, "{}{x:.2} {y:.2}", if k == 0 { 'M' } else { 'L' });
                        }
                        d.push('Z');
                    }
                    let _ = writeln!(
                        out,
                        r#"<path d="{d}" fill-rule="evenodd" {} {}/>"#,
                        fill.map_or_else(|| r#"fill="none""#.to_owned(), |c| svg_paint("fill", c)),
                        svg_pen(*stroke)
                    );
                }
                Shape::Polyline { points, pen } => {
                    let pts: Vec<String> = points
                        .iter()
                        .map(|(x, y)| format!("{x:.2},{y:.2}"))
                        .collect();
                    let _ = writeln!(
                        out,
                        r#"<polyline points="{}" fill="none" stroke-linecap="round" {}/>"#,
                        pts.join(" "),
                        svg_pen(Some(*pen))
                    );
                }
                Shape::Circle {
                    centre,
                    r,
                    fill,
                    stroke,
                } => {
                    let _ = writeln!(
                        out,
                        r#"<circle cx="{:.2}" cy="{:.2}" r="{r:.2}" {} {}/>"#,
                        centre.0,
                        centre.1,
                        fill.map_or_else(|| r#"fill="none""#.to_owned(), |c| svg_paint("fill", c)),
                        svg_pen(*stroke)
                    );
                }
                Shape::Text {
                    at,
                    size,
                    text,
                    colour,
                    anchor,
                } => {
                    let anchor = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let _ = writeln!(
                        out,
                        r#"<text x="{:.2}" y="{:.2}" font-size="{size:.2}" text-anchor="{anchor}" {}>{}</text>"#,
                        at.0,
                        at.1,
                        svg_paint("fill", *colour),
                        escape_xml(text)
                    );
                }
            }
        }
        out.push_str("</svg>\n");
        out
    }

    /// Draws the shapes onto a PDF page's surface, in the surface's current units.
    pub(crate) fn draw_pdf(&self, surface: &mut Surface<'_>, font: &krilla::text::Font) {
        if let Some(bg) = self.background {
            fill_path(surface, bg, |b| {
                rect_path(b, [0.0, 0.0, self.width, self.height]);
            });
        }
        for shape in &self.shapes {
            match shape {
                Shape::Rects { fill, rects } => fill_path(surface, *fill, |b| {
                    for r in rects {
                        rect_path(b, *r);
                    }
                }),
                Shape::Polygon {
                    rings,
                    fill,
                    stroke,
                } => {
                    let build = |b: &mut PathBuilder| {
                        for ring in rings {
                            trace(b, ring);
                            b.close();
                        }
                    };
                    if let Some(fill) = fill {
                        fill_path(surface, *fill, build);
                    }
                    if let Some(pen) = stroke {
                        stroke_path(surface, *pen, build);
                    }
                }
                Shape::Polyline { points, pen } => {
                    stroke_path(surface, *pen, |b| trace(b, points));
                }
                Shape::Circle {
                    centre,
                    r,
                    fill,
                    stroke,
                } => {
                    if let Some(fill) = fill {
                        fill_path(surface, *fill, |b| circle_path(b, *centre, *r));
                    }
                    if let Some(pen) = stroke {
                        stroke_path(surface, *pen, |b| circle_path(b, *centre, *r));
                    }
                }
                Shape::Text {
                    at,
                    size,
                    text,
                    colour,
                    anchor,
                } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill_of(*colour)));
                    let x = at.0 - offset(text, *size, *anchor);
                    surface.draw_text(
                        Point::from_xy(x as f32, at.1 as f32),
                        font.clone(),
                        *size as f32,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
            }
        }
    }

    /// The drawing as a one-page PDF the drawing's size in points.
    pub fn to_pdf(&self) -> Result<Vec<u8>, DrawError> {
        let mut doc = crate::document::PdfWriter::new()?;
        doc.page(self.width, self.height, |surface, font| {
            self.draw_pdf(surface, font)
        })?;
        doc.finish()
    }
}

/// How far left of its anchor a text starts.
fn offset(text: &str, size: f64, anchor: Anchor) -> f64 {
    match anchor {
        Anchor::Start => 0.0,
        Anchor::Middle => crate::font::text_width(text, size) / 2.0,
        Anchor::End => crate::font::text_width(text, size),
    }
}

fn svg_paint(attr: &str, c: Rgba) -> String {
    let mut s = format!(r#"{attr}="rgb({},{},{})""#, c[0], c[1], c[2]);
    if c[3] < 255 {
        let _ = write!(s, r#" {attr}-opacity="{:.3}""#, f64::from(c[3]) / 255.0);
    }
    s
}

fn svg_pen(pen: Option<Pen>) -> String {
    pen.map_or_else(String::new, |p| {
        format!(
            r#"{} stroke-width="{:.2}" stroke-linejoin="round""#,
            svg_paint("stroke", p.colour),
            p.width
        )
    })
}

/// Text for XML content and attributes.
pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

fn fill_of(c: Rgba) -> Fill {
    Fill {
        paint: krilla::color::rgb::Color::new(c[0], c[1], c[2]).into(),
        opacity: NormalizedF32::new(f32::from(c[3]) / 255.0).unwrap_or(NormalizedF32::ONE),
        rule: FillRule::EvenOdd,
    }
}

fn fill_path(surface: &mut Surface<'_>, c: Rgba, build: impl FnOnce(&mut PathBuilder)) {
    let mut b = PathBuilder::new();
    build(&mut b);
    if let Some(path) = b.finish() {
        surface.set_stroke(None);
        surface.set_fill(Some(fill_of(c)));
        surface.draw_path(&path);
    }
}

fn stroke_path(surface: &mut Surface<'_>, pen: Pen, build: impl FnOnce(&mut PathBuilder)) {
    let mut b = PathBuilder::new();
    build(&mut b);
    if let Some(path) = b.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            paint: krilla::color::rgb::Color::new(pen.colour[0], pen.colour[1], pen.colour[2])
                .into(),
            width: pen.width as f32,
            opacity: NormalizedF32::new(f32::from(pen.colour[3]) / 255.0)
                .unwrap_or(NormalizedF32::ONE),
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

/// A line through the points (the first a move).
fn trace(b: &mut PathBuilder, points: &[(f64, f64)]) {
    for (k, (x, y)) in points.iter().enumerate() {
        if k == 0 {
            b.move_to(*x as f32, *y as f32);
        } else {
            b.line_to(*x as f32, *y as f32);
        }
    }
}

fn rect_path(b: &mut PathBuilder, [x, y, w, h]: [f64; 4]) {
    let (x, y, w, h) = (x as f32, y as f32, w as f32, h as f32);
    b.move_to(x, y);
    b.line_to(x + w, y);
    b.line_to(x + w, y + h);
    b.line_to(x, y + h);
    b.close();
}

/// A circle as four cubic Béziers.
fn circle_path(b: &mut PathBuilder, (cx, cy): (f64, f64), r: f64) {
    let (cx, cy, r) = (cx as f32, cy as f32, r as f32);
    let k = 0.552_284_8 * r;
    b.move_to(cx + r, cy);
    b.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    b.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    b.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    b.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    b.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Canvas {
        let mut c = Canvas::new(200.0, 100.0);
        c.rect(10.0, 10.0, 50.0, 30.0, [255, 0, 0, 255]);
        c.push(Shape::Polygon {
            rings: vec![vec![
                (100.0, 10.0),
                (190.0, 10.0),
                (190.0, 90.0),
                (100.0, 90.0),
            ]],
            fill: Some([0, 0, 255, 255]),
            stroke: Some(Pen::new([0, 0, 0, 255], 1.0)),
        });
        c.text(
            (10.0, 80.0),
            14.0,
            "赣州 <Ganzhou> & 县",
            [0, 0, 0, 255],
            Anchor::Start,
        );
        c
    }

    #[test]
    fn png_paints_the_shapes_and_the_chinese_text() {
        let png = sample().to_png(1.0).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).unwrap();
        assert_eq!((frame.width, frame.height), (200, 100));
        let at = |x: usize, y: usize| &buf[(y * 200 + x) * 4..(y * 200 + x) * 4 + 4];
        assert_eq!(at(20, 20), [255, 0, 0, 255]);
        assert_eq!(at(150, 50), [0, 0, 255, 255]);
        // The text's row is inked somewhere (dark pixels under the baseline's height).
        let inked = (66..80)
            .flat_map(|y| (10..60).map(move |x| (x, y)))
            .filter(|&(x, y)| at(x, y)[0] < 128)
            .count();
        assert!(inked > 20, "{inked} dark pixels in the text's box");
    }

    #[test]
    fn svg_keeps_text_as_escaped_text() {
        let svg = sample().to_svg();
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains("赣州 &lt;Ganzhou&gt; &amp; 县"), "{svg}");
        assert!(svg.contains(r#"fill="rgb(0,0,255)""#));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn pdf_is_a_pdf() {
        let pdf = sample().to_pdf().unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() > 500);
    }
}
