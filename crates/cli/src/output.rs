//! What the commands show and write: progress bars, percentages, files written atomically.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use evgrid_siting::{Phase, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees half a
/// file and a failed run leaves no file behind.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_through_temporary(path, bytes, false)
}

/// [`write_atomically`] for a file that holds passwords or keys: readable by its owner only
/// (0600), its directory made (0700) when missing, and on disk before it replaces the old one
/// (a key file lost to a crash would leave every secret sealed with it unreadable).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_through_temporary(path, bytes, true)
}

fn write_through_temporary(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let context = || format!("writing {}", path.display());
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if private && !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(context)?;
    std::io::Write::write_all(&mut tmp, bytes).with_context(context)?;
    if private {
        // A temporary file is private (0600) already.
        tmp.as_file().sync_all().with_context(context)?;
    } else {
        // The output is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .with_context(context)?;
        }
    }
    tmp.persist(path).with_context(context)?;
    Ok(())
}

/// A progress bar of `steps` on stderr (hidden when stderr is not a terminal).
pub(crate) fn bar(steps: u64) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(steps)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A share as a percentage with one decimal.
pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A progress bar fed by the solver's reports.
pub(crate) fn solver_progress(bar: &ProgressBar) -> impl FnMut(Progress) + '_ {
    move |p: Progress| {
        let phase = match p.phase {
            Phase::Coverage => "coverage sets",
            Phase::Greedy => "lazy greedy",
            Phase::LocalSearch => "local search",
            Phase::Bound => "upper bound",
            Phase::Improve => "improving",
            Phase::Done => "done",
        };
        bar.set_position((p.fraction * 1000.0) as u64);
        if p.upper_bound.is_finite() {
            bar.set_message(format!(
                "{phase}: covered {:.0}, bound {:.0}",
                p.objective, p.upper_bound
            ));
        } else {
            bar.set_message(format!("{phase}: covered {:.0}", p.objective));
        }
    }
}

/// A language option: `zh` or `en`.
pub fn parse_lang(text: &str) -> Result<evgrid_report::Lang, String> {
    evgrid_report::Lang::parse(text).ok_or_else(|| format!("{text}: zh or en"))
}

/// The drawing format a map file asks for by its extension (PNG when there is no file).
pub fn drawing_format(path: Option<&Path>) -> Result<evgrid_report::DrawingFormat> {
    match path {
        None => Ok(evgrid_report::DrawingFormat::Png),
        Some(path) => evgrid_report::DrawingFormat::of_path(path)
            .with_context(|| format!("{}: a map is written as .png, .svg or .pdf", path.display())),
    }
}
