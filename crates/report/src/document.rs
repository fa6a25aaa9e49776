//! Documents for people: a report as a list of blocks (title, headings, paragraphs, tables,
//! drawings, notes) laid out on A4 pages, each page a [`Canvas`], written as a PDF with the
//! embedded font subset into it. Text stays text: a reader can search and copy every figure.

use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::text::Font;

use crate::canvas::{Anchor, Canvas, DrawError, Pen, Rgba, Shape};
use crate::font::wrap;

/// A4 in points.
pub const A4: (f64, f64) = (595.0, 842.0);
const MARGIN: f64 = 48.0;
const BODY: f64 = 10.0;
const INK: Rgba = [20, 20, 20, 255];
const GREY: Rgba = [95, 95, 95, 255];
const RULE: Rgba = [170, 175, 185, 255];
const HEADER_FILL: Rgba = [228, 234, 243, 255];
const ACCENT: Rgba = [25, 60, 140, 255];

/// A table of text cells.
#[derive(Debug, Clone, Default)]
pub struct TextTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Relative column widths (equal when empty).
    pub widths: Vec<f64>,
    /// Columns set right-aligned (figures).
    pub numeric: Vec<bool>,
}

/// One piece of a report, in reading order.
#[derive(Debug, Clone)]
pub enum Block {
    /// The document's title and the line under it.
    Title {
        title: String,
        subtitle: String,
    },
    Heading(String),
    Paragraph(String),
    /// Small grey text: how a figure was computed, a source.
    Note(String),
    Table(TextTable),
    /// A map or chart, scaled to the text's width (or `max_height`), with a caption.
    Drawing {
        canvas: Canvas,
        caption: Option<String>,
        max_height: f64,
    },
    PageBreak,
}

/// A report: blocks and the line printed at every page's foot (with the page number).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub title: String,
    /// BCP 47 language of the text (`zh-CN`, `en`).
    pub language: String,
    pub footer: String,
    pub blocks: Vec<Block>,
}

impl Report {
    /// The pages as drawings (A4 in points), footers included.
    pub fn pages(&self) -> Vec<Canvas> {
        let mut layout = Layout::new();
        for block in &self.blocks {
            layout.block(block);
        }
        let mut pages = layout.finish();
        let n = pages.len();
        for (i, page) in pages.iter_mut().enumerate() {
            let y = A4.1 - MARGIN / 2.0;
            page.line(
                (MARGIN, y - 12.0),
                (A4.0 - MARGIN, y - 12.0),
                Pen::new(RULE, 0.5),
            );
            page.text((MARGIN, y), 8.0, &self.footer, GREY, Anchor::Start);
            page.text(
                (A4.0 - MARGIN, y),
                8.0,
                format!("{} / {n}", i + 1),
                GREY,
                Anchor::End,
            );
        }
        pages
    }

    /// The report as a PDF.
    pub fn to_pdf(&self) -> Result<Vec<u8>, DrawError> {
        let mut pdf = PdfWriter::new()?;
        pdf.metadata(&self.title, &self.language);
        for page in self.pages() {
            pdf.page(page.width, page.height, |surface, font| {
                page.draw_pdf(surface, font)
            })?;
        }
        pdf.finish()
    }
}

/// Blocks flowing onto pages.
struct Layout {
    pages: Vec<Canvas>,
    y: f64,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Canvas::new(A4.0, A4.1)],
            y: MARGIN,
        }
    }

    fn width() -> f64 {
        A4.0 - 2.0 * MARGIN
    }

    fn bottom() -> f64 {
        A4.1 - MARGIN - 14.0
    }

    fn page(&mut self) -> &mut Canvas {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Canvas::new(A4.0, A4.1));
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn room(&mut self, height: f64) {
        if self.y + height > Self::bottom() && self.y > MARGIN + 1.0 {
            self.new_page();
        }
    }

    fn lines(&mut self, text: &str, size: f64, colour: Rgba, gap_after: f64) {
        let leading = size * 1.45;
        for line in wrap(text, size, Self::width()) {
            self.room(leading);
            let y = self.y + crate::font::ascent(size);
            self.page()
                .text((MARGIN, y), size, line, colour, Anchor::Start);
            self.y += leading;
        }
        self.y += gap_after;
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Title { title, subtitle } => {
                self.room(70.0);
                let y = self.y + crate::font::ascent(20.0);
                self.page()
                    .text((MARGIN, y), 20.0, title, ACCENT, Anchor::Start);
                self.y += 30.0;
                self.lines(subtitle, BODY, GREY, 4.0);
                let y = self.y;
                self.page()
                    .line((MARGIN, y), (A4.0 - MARGIN, y), Pen::new(ACCENT, 1.2));
                self.y += 12.0;
            }
            Block::Heading(text) => {
                // A heading never ends a page alone.
                self.room(60.0);
                self.y += 6.0;
                self.lines(text, 13.0, ACCENT, 3.0);
            }
            Block::Paragraph(text) => self.lines(text, BODY, INK, 5.0),
            Block::Note(text) => self.lines(text, 7.5, GREY, 4.0),
            Block::Table(table) => self.table(table),
            Block::Drawing {
                canvas,
                caption,
                max_height,
            } => {
                let scale = (Self::width() / canvas.width)
                    .min(max_height / canvas.height)
                    .min(Self::bottom() - MARGIN)
                    .max(0.01);
                let h = canvas.height * scale;
                self.room(h + 16.0);
                let x = MARGIN + (Self::width() - canvas.width * scale) / 2.0;
                let y = self.y;
                place(self.page(), canvas, (x, y), scale);
                self.y += h + 4.0;
                if let Some(caption) = caption {
                    self.lines(caption, 8.0, GREY, 6.0);
                } else {
                    self.y += 6.0;
                }
            }
            Block::PageBreak => self.new_page(),
        }
    }

    fn table(&mut self, table: &TextTable) {
        let n = table
            .header
            .len()
            .max(table.rows.iter().map(Vec::len).max().unwrap_or(0));
        if n == 0 {
            return;
        }
        let total: f64 = table.widths.iter().take(n).sum();
        let widths: Vec<f64> = (0..n)
            .map(|i| {
                if table.widths.len() >= n && total > 0.0 {
                    table.widths[i] / total * Self::width()
                } else {
                    Self::width() / n as f64
                }
            })
            .collect();
        let size = 8.5;
        let pad = 3.0;
        let row_height = |cells: &[String]| -> (Vec<Vec<String>>, f64) {
            let wrapped: Vec<Vec<String>> = (0..n)
                .map(|i| {
                    let text = cells.get(i).map_or("", String::as_str);
                    wrap(text, size, widths[i] - 2.0 * pad)
                })
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            (wrapped, lines as f64 * size * 1.35 + 2.0 * pad)
        };
        let (header_cells, header_h) = row_height(&table.header);
        let draw_row = |layout: &mut Self, cells: &[Vec<String>], h: f64, header: bool| {
            let y = layout.y;
            let page = layout.page();
            if header {
                page.rect(MARGIN, y, Self::width(), h, HEADER_FILL);
            }
            let mut x = MARGIN;
            for (i, lines) in cells.iter().enumerate() {
                let right = table.numeric.get(i).copied().unwrap_or(false) && !header;
                for (k, line) in lines.iter().enumerate() {
                    let baseline = y + pad + crate::font::ascent(size) + k as f64 * size * 1.35;
                    if right {
                        page.text(
                            (x + widths[i] - pad, baseline),
                            size,
                            line,
                            INK,
                            Anchor::End,
                        );
                    } else {
                        page.text((x + pad, baseline), size, line, INK, Anchor::Start);
                    }
                }
                x += widths[i];
            }
            page.line(
                (MARGIN, y + h),
                (MARGIN + Self::width(), y + h),
                Pen::new(RULE, 0.4),
            );
            layout.y += h;
        };
        self.room(header_h * 2.0 + 4.0);
        if !table.header.is_empty() {
            draw_row(self, &header_cells, header_h, true);
        }
        for row in &table.rows {
            let (cells, h) = row_height(row);
            if self.y + h > Self::bottom() {
                self.new_page();
                if !table.header.is_empty() {
                    draw_row(self, &header_cells, header_h, true);
                }
            }
            draw_row(self, &cells, h, false);
        }
        self.y += 8.0;
    }

    fn finish(self) -> Vec<Canvas> {
        self.pages
    }
}

/// Copies `drawing` onto `page` at `at`, `scale` page units per drawing unit.
pub fn place(page: &mut Canvas, drawing: &Canvas, at: (f64, f64), scale: f64) {
    let p = |&(x, y): &(f64, f64)| (at.0 + x * scale, at.1 + y * scale);
    let pen = |pen: &Pen| Pen::new(pen.colour, pen.width * scale);
    if let Some(bg) = drawing.background {
        page.rect(
            at.0,
            at.1,
            drawing.width * scale,
            drawing.height * scale,
            bg,
        );
    }
    for shape in drawing.shapes() {
        page.push(match shape {
            Shape::Rects { fill, rects } => Shape::Rects {
                fill: *fill,
                rects: rects
                    .iter()
                    .map(|[x, y, w, h]| [at.0 + x * scale, at.1 + y * scale, w * scale, h * scale])
                    .collect(),
            },
            Shape::Polygon {
                rings,
                fill,
                stroke,
            } => Shape::Polygon {
                rings: rings.iter().map(|r| r.iter().map(p).collect()).collect(),
                fill: *fill,
                stroke: stroke.as_ref().map(pen),
            },
            Shape::Polyline { points, pen: line } => Shape::Polyline {
                points: points.iter().map(p).collect(),
                pen: pen(line),
            },
            Shape::Circle {
                centre,
                r,
                fill,
                stroke,
            } => Shape::Circle {
                centre: p(centre),
                r: r * scale,
                fill: *fill,
                stroke: stroke.as_ref().map(pen),
            },
            Shape::Text {
                at: t,
                size,
                text,
                colour,
                anchor,
            } => Shape::Text {
                at: p(t),
                size: size * scale,
                text: text.clone(),
                colour: *colour,
                anchor: *anchor,
            },
        });
    }
}

/// krilla's document with evgrid's font loaded once.
pub(crate) struct PdfWriter {
    doc: krilla::Document,
    font: Font,
}

impl std::fmt::Debug for PdfWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PdfWriter")
    }
}

impl PdfWriter {
    pub(crate) fn new() -> Result<Self, DrawError> {
        let font = Font::new(crate::font::FONT_DATA.into(), crate::font::FACE_INDEX)
            .ok_or_else(|| DrawError::Pdf("the embedded font does not load".into()))?;
        Ok(Self {
            doc: krilla::Document::new(),
            font,
        })
    }

    fn metadata(&mut self, title: &str, language: &str) {
        self.doc.set_metadata(
            krilla::metadata::Metadata::new()
                .title(title.to_owned())
                .language(language.to_owned())
                .creator("evgrid".to_owned()),
        );
    }

    /// One page `width` × `height` points, drawn by `draw` (y down from the top left).
    pub(crate) fn page(
        &mut self,
        width: f64,
        height: f64,
        draw: impl FnOnce(&mut Surface<'_>, &Font),
    ) -> Result<(), DrawError> {
        let settings = PageSettings::from_wh(width as f32, height as f32)
            .ok_or(DrawError::Size(width, height))?;
        let mut page = self.doc.start_page_with(settings);
        let mut surface = page.surface();
        draw(&mut surface, &self.font);
        surface.finish();
        page.finish();
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Vec<u8>, DrawError> {
        self.doc
            .finish()
            .map_err(|e| DrawError::Pdf(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_tables_continue_on_new_pages_with_their_header() {
        let report = Report {
            title: "t".into(),
            language: "zh-CN".into(),
            footer: "赣州市 测试".into(),
            blocks: vec![
                Block::Title {
                    title: "月报".into(),
                    subtitle: "2026年11月".into(),
                },
                Block::Table(TextTable {
                    header: vec!["县区".into(), "充电桩".into()],
                    rows: (0..120)
                        .map(|i| vec![format!("县{i}"), i.to_string()])
                        .collect(),
                    widths: vec![3.0, 1.0],
                    numeric: vec![false, true],
                }),
            ],
        };
        let pages = report.pages();
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for page in &pages {
            assert!(
                page.texts().any(|t| t == "县区"),
                "every page repeats the header"
            );
        }
        let last: Vec<&str> = pages[pages.len() - 1].texts().collect();
        assert!(last.contains(&"119"));
        assert!(last
            .iter()
            .any(|t| t.contains(&format!("/ {}", pages.len()))));
        let pdf = report.to_pdf().unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
