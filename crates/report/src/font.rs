//! The one typeface of evgrid's maps, charts and reports: WenQuanYi Micro Hei (文泉驿微米黑,
//! Apache-2.0, taken from Debian's `fonts-wqy-microhei`; see `fonts/wqy-microhei.COPYRIGHT`).
//! One face holds Latin and Chinese, so a label such as "赣县区 Ganxian" needs no fallback, and
//! it is embedded so that a fresh build draws Chinese on a machine without any fonts installed.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// The font file (a TrueType collection; face 0 is the proportional face).
pub(crate) const FONT_DATA: &[u8] = include_bytes!("../fonts/wqy-microhei.ttc");
/// The face inside [`FONT_DATA`].
pub(crate) const FACE_INDEX: u32 = 0;
/// The family SVG files ask for, with the usual Chinese system faces after it.
pub(crate) const SVG_FAMILY: &str =
    "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif";

/// The parsed face, once per process; `None` only if the embedded file were broken (a test
/// proves it is not), in which case text is left out rather than the drawing failing.
pub(crate) fn face() -> Option<&'static FontRef<'static>> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice_and_index(FONT_DATA, FACE_INDEX).ok())
        .as_ref()
}

/// The scale at which `face` sets text `size` units per em (the PDF's meaning of a font size;
/// ab_glyph's own scale is ascent to descent).
pub(crate) fn em_scale(face: &FontRef<'_>, size: f64) -> PxScale {
    let per_em = face.units_per_em().unwrap_or(1000.0);
    PxScale::from((size as f32) * face.height_unscaled() / per_em)
}

/// The width of `text` set at `size` (pixels or points: the unit of the size), from the
/// glyphs' advances. Layout uses it for every output, so PNG, SVG and PDF line up alike.
pub fn text_width(text: &str, size: f64) -> f64 {
    let Some(face) = face() else {
        return 0.0;
    };
    let scaled = face.as_scaled(em_scale(face, size));
    text.chars()
        .map(|c| f64::from(scaled.h_advance(face.glyph_id(c))))
        .sum()
}

/// The ascent of the face at `size`: how far above the baseline capitals and Chinese reach.
pub fn ascent(size: f64) -> f64 {
    face().map_or(size * 0.8, |f| {
        f64::from(f.as_scaled(em_scale(f, size)).ascent())
    })
}

/// Splits `text` into lines no wider than `width` at `size`: between words for Latin text,
/// anywhere between Chinese characters (which have no spaces), never inside a Latin word unless
/// the word alone is too wide.
pub fn wrap(text: &str, size: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for token in tokens(paragraph) {
            let candidate = format!("{line}{token}");
            if line.is_empty() || text_width(candidate.trim_end(), size) <= width {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_owned());
                line = token.trim_start().to_owned();
            }
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// Breakable pieces: each CJK character alone (with a following punctuation mark kept on its
/// line), each Latin word with the spaces after it.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let wide = is_wide(c);
        if wide && is_closing_punctuation(c) {
            word.push(c);
            continue;
        }
        if (wide || (c != ' ' && word.ends_with(' '))) && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        word.push(c);
        if wide {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Characters set one per cell in Chinese text (CJK ideographs and full-width forms).
fn is_wide(c: char) -> bool {
    matches!(u32::from(c), 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// Punctuation that must not start a line.
fn is_closing_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '、' | '；' | '：' | '）' | '」' | '”' | '％' | '！' | '？'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_face_has_latin_and_chinese() {
        let face = face().expect("the embedded font parses");
        for c in ['A', 'z', '7', '赣', '州', '县', '充', '电', '桩'] {
            assert_ne!(face.glyph_id(c).0, 0, "{c} has a glyph");
        }
        assert!(text_width("赣州", 10.0) > text_width("ab", 10.0));
    }

    #[test]
    fn wrapping_breaks_latin_between_words_and_chinese_anywhere() {
        let lines = wrap(
            "one two three four five six",
            10.0,
            text_width("one two th", 10.0),
        );
        assert_eq!(lines, ["one two", "three four", "five six"]);
        let zh = wrap(
            "赣州市中心城区充电桩，共计一万九千个。",
            10.0,
            text_width("赣州市中心城区", 10.0),
        );
        assert!(zh.len() >= 3, "{zh:?}");
        assert!(
            zh.iter()
                .all(|l| !l.starts_with('，') && !l.starts_with('。')),
            "{zh:?}"
        );
        assert_eq!(zh.concat(), "赣州市中心城区充电桩，共计一万九千个。");
    }
}
