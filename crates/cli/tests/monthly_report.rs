//! The regulator's monthly report and maps as a city office gets them: the PDF from the API and
//! from `evgrid report monthly`, rendered by poppler (`pdftoppm`) and read back as text
//! (`pdftotext`): Chinese text, county names, charts and the map's labels, and the same headline
//! figures as the API's statistics and coverage answers. Maps as SVG and PDF from `evgrid
//! coverage`. poppler-utils is installed by scripts/test.sh.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{evgrid_args, get, get_as, imported, login, run, start};

/// The text of a PDF as poppler extracts it.
fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Renders every page (grey levels) and returns, per page, the share of pixels that are not
/// white.
fn rendered_pages(pdf: &Path, dir: &Path) -> Vec<f64> {
    let prefix = dir.join("page");
    let out = Command::new("pdftoppm")
        .args(["-r", "30", "-gray"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (Debian's poppler-utils; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("page"))
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|p| {
            // PGM: "P5\n<w> <h>\n255\n" then one byte per pixel.
            let bytes = std::fs::read(p).unwrap();
            let mut fields = 0;
            let mut start = 0;
            for (i, b) in bytes.iter().enumerate() {
                if b.is_ascii_whitespace() {
                    fields += 1;
                    if fields == 4 {
                        start = i + 1;
                        break;
                    }
                }
            }
            let pixels = &bytes[start..];
            pixels.iter().filter(|&&v| v < 245).count() as f64 / pixels.len() as f64
        })
        .collect()
}

fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn the_monthly_report_renders_in_chinese_with_the_apis_headline_figures() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let out = evgrid_args(&[
        "user",
        "add",
        "--username",
        "bureau",
        "--role",
        "regulator",
        "--data-dir",
        d,
    ])
    .env("EVGRID_USER_PASSWORD", "bureau password 1")
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = start(&["serve", "--poll-interval", "0", "--data-dir", d]);
    let addr = server.addr;
    let token = login(addr, "bureau", "bureau password 1");

    // Not without a login; bad months and languages are refused with a problem body.
    assert_eq!(get(addr, "/api/v1/reports/monthly.pdf").status, 401);
    for bad in ["month=2026-13", "month=November", "lang=fr", "format=xlsx"] {
        let a = get_as(addr, &token, &format!("/api/v1/reports/monthly.pdf?{bad}"));
        assert_eq!(a.status, 400, "{bad}: {}", a.text());
        assert_eq!(a.content_type, "application/problem+json");
    }

    let a = get_as(addr, &token, "/api/v1/reports/monthly.pdf");
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.content_type, "application/pdf");
    assert!(a.header("content-disposition").unwrap().contains(".pdf"));
    let pdf = dir.path().join("monthly.pdf");
    std::fs::write(&pdf, &a.body).unwrap();

    // Every page renders, none blank; the map page is mostly ink.
    let pages_dir = dir.path().join("pages");
    std::fs::create_dir(&pages_dir).unwrap();
    let pages = rendered_pages(&pdf, &pages_dir);
    assert!(pages.len() >= 4, "{} pages", pages.len());
    assert!(
        pages.iter().all(|ink| *ink > 0.01),
        "a blank page: {pages:?}"
    );
    assert!(
        pages.last().unwrap() > &0.3,
        "the map page is mostly shading: {pages:?}"
    );

    // The text is Chinese and carries the API's figures.
    let text = pdf_text(&pdf);
    let stats = get_as(addr, &token, "/api/v1/stats/summary").json();
    let coverage = get_as(addr, &token, "/api/v1/coverage/summary").json();
    let figures = get_as(addr, &token, "/api/v1/reports/monthly").json();
    for phrase in [
        "赣州市充电基础设施月报",
        "主要指标",
        "充电桩总数",
        "规划服务半径",
        "有公共充电站的乡镇",
        "公共充电覆盖",
        "各县（市、区）公共充电桩数",
        "北",
    ] {
        assert!(text.contains(phrase), "{phrase} in the report");
    }
    let piles = stats["piles"]["total"].as_i64().unwrap();
    assert_eq!(
        figures["piles"]["public"].as_i64().unwrap()
            + figures["piles"]["dedicated"].as_i64().unwrap()
            + figures["piles"]["private"].as_i64().unwrap(),
        piles
    );
    assert!(
        text.contains(&thousands(piles)),
        "piles {piles} in the report"
    );
    let radius = format!("{:.2}", coverage["planning_radius_km"].as_f64().unwrap());
    assert!(text.contains(&radius), "planning radius {radius}");
    let mean = format!(
        "{:.2}",
        coverage["service_radius"]["mean_km"].as_f64().unwrap()
    );
    assert!(text.contains(&mean), "mean distance {mean}");
    let townships = format!(
        "{} / {}",
        coverage["townships"]["covered"], coverage["townships"]["total"]
    );
    assert!(text.contains(&townships), "townships {townships}");
    let hotspots = format!(
        "{} / {}",
        coverage["hotspots"]["covered"], coverage["hotspots"]["total"]
    );
    assert!(text.contains(&hotspots), "hot spots {hotspots}");
    // Every county by its Chinese name (tables, bar chart and map labels).
    let regions = get(addr, "/api/v1/regions").json();
    let counties = regions["counties"].as_array().unwrap();
    assert_eq!(counties.len(), 18);
    for c in counties {
        let name = c["name_zh"].as_str().unwrap();
        assert!(
            text.matches(name).count() >= 3,
            "{name} in the table, the chart and the map"
        );
    }
    // The largest township without a public station, with its distance.
    let uncovered = &figures["uncovered_townships"][0];
    assert!(text.contains(uncovered["name_zh"].as_str().unwrap()));
    assert!(text.contains(&format!("{:.1}", uncovered["nearest_km"].as_f64().unwrap())));

    // English on request.
    let en = get_as(addr, &token, "/api/v1/reports/monthly.pdf?lang=en");
    assert_eq!(en.status, 200);
    let en_pdf = dir.path().join("monthly-en.pdf");
    std::fs::write(&en_pdf, &en.body).unwrap();
    let en_text = pdf_text(&en_pdf);
    for phrase in [
        "Headline figures",
        "Piles registered",
        "public charging coverage",
        "Zhanggong",
    ] {
        assert!(en_text.contains(phrase), "{phrase} in the English report");
    }
    drop(server);

    // The command line: a month without data says so; the same month twice gives the same text.
    let empty = dir.path().join("empty.pdf");
    let out = run(&[
        "report",
        "monthly",
        "--month",
        "2025-01",
        "--data-dir",
        d,
        "--out",
        empty.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no data was recorded"));
    let empty_text = pdf_text(&empty);
    assert!(
        empty_text.contains("没有记录到数据"),
        "the report says the month has no data"
    );
    let again = dir.path().join("again.pdf");
    let out = run(&[
        "report",
        "monthly",
        "--month",
        "2025-01",
        "--data-dir",
        d,
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        pdf_text(&again),
        empty_text,
        "same data, same month: same content"
    );
    // Bad options: one clear line, exit status 1.
    for args in [
        vec!["--month", "2025-1"],
        vec!["--out", "report.docx"],
        vec!["--lang", "fr"],
    ] {
        let mut all = vec!["report", "monthly", "--data-dir", d];
        all.extend(args.iter().copied());
        let out = run(&all);
        assert!(!out.status.success(), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn coverage_maps_are_written_as_svg_and_pdf_with_their_labels() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let svg = dir.path().join("map.svg");
    let out = run(&[
        "coverage",
        "--data-dir",
        d,
        "--map",
        svg.to_str().unwrap(),
        "--lang",
        "en",
        "--map-width",
        "900",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg "));
    for label in [
        "Ganzhou public charging coverage",
        "Zhanggong",
        "Public station",
        ">N<",
        " km<",
    ] {
        assert!(text.contains(label), "{label} in the SVG");
    }
    let pdf = dir.path().join("map.pdf");
    let out = run(&[
        "coverage",
        "--data-dir",
        d,
        "--map",
        pdf.to_str().unwrap(),
        "--region",
        "章贡区",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = pdf_text(&pdf);
    for label in [
        "赣州市章贡区 公共充电覆盖",
        "章贡区",
        "公共充电站",
        "公里",
        "数据截至",
    ] {
        assert!(text.contains(label), "{label} in the PDF map");
    }
    let out = run(&[
        "coverage",
        "--data-dir",
        d,
        "--map",
        dir.path().join("map.gif").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".png, .svg or .pdf"));
}
