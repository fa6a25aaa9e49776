//! The key that seals operators' secrets and issued tokens at rest: from `EVGRID_SECRET_KEY`
//! (64 hex characters), else from the key file (`--secret-key-file`, default
//! DATA_DIR/secret.key), made on first use, readable by its owner only. Keys replaced by
//! `evgrid operator rotate-key` are kept one per line in `KEYFILE.previous` (or
//! `EVGRID_SECRET_KEY_PREVIOUS`, comma-separated) so that what was sealed with them still opens.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use evgrid_app::secrets::{Sealer, SecretKey};

use crate::open::StoreArgs;
use crate::output::write_private;

const KEY_VARIABLE: &str = "EVGRID_SECRET_KEY";
const PREVIOUS_VARIABLE: &str = "EVGRID_SECRET_KEY_PREVIOUS";

/// The key file of `store`.
pub(crate) fn key_file(store: &StoreArgs) -> PathBuf {
    store
        .secret_key_file
        .clone()
        .unwrap_or_else(|| store.data_dir.join("secret.key"))
}

fn previous_file(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".previous");
    PathBuf::from(name)
}

fn keys_of(text: &str, separator: char, from: &str) -> Result<Vec<SecretKey>> {
    text.split(separator)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| SecretKey::from_hex(l).with_context(|| format!("a key in {from}")))
        .collect()
}

/// The sealer of `store`: its key (made and written on first use) and the previous ones.
pub(crate) fn sealer(store: &StoreArgs) -> Result<Sealer> {
    if let Ok(hex) = std::env::var(KEY_VARIABLE) {
        let current = SecretKey::from_hex(&hex).with_context(|| KEY_VARIABLE.to_owned())?;
        let previous = keys_of(
            &std::env::var(PREVIOUS_VARIABLE).unwrap_or_default(),
            ',',
            PREVIOUS_VARIABLE,
        )?;
        return Ok(Sealer::new(current, previous));
    }
    let path = key_file(store);
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("making {} private", path.display()))?;
                }
            }
            SecretKey::from_hex(&text).with_context(|| format!("the key in {}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::random().context("making a secret key")?;
            write_private(&path, format!("{}\n", key.to_hex()).as_bytes())?;
            tracing::info!(path = %path.display(), "made the secret key that seals operators' secrets");
            key
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let previous_path = previous_file(&path);
    let previous = match std::fs::read_to_string(&previous_path) {
        Ok(text) => keys_of(&text, '\n', &previous_path.display().to_string())?,
        Err(_) => Vec::new(),
    };
    Ok(Sealer::new(current, previous))
}

/// Replaces the key file's key by a new one: the old key is kept in `KEYFILE.previous` first,
/// then the new one written, so that whatever a crash interrupts, every sealed value still
/// opens. Returns the sealer to seal everything again with (new key, every older one).
pub(crate) fn rotate(store: &StoreArgs) -> Result<Sealer> {
    if std::env::var(KEY_VARIABLE).is_ok() {
        bail!(
            "the key comes from {KEY_VARIABLE}: rotate it by hand (set {PREVIOUS_VARIABLE} to the \
             old key and {KEY_VARIABLE} to a new one of 64 hex characters, then run this with a \
             key file), or unset it to use the key file"
        );
    }
    let old = sealer(store)?;
    let path = key_file(store);
    let mut previous = vec![old.current().clone()];
    previous.extend(old.previous().iter().cloned());
    let text: String = previous
        .iter()
        .map(|k| format!("{}\n", k.to_hex()))
        .collect();
    write_private(&previous_file(&path), text.as_bytes())?;
    let new = SecretKey::random().context("making a secret key")?;
    write_private(&path, format!("{}\n", new.to_hex()).as_bytes())?;
    Ok(Sealer::new(new, previous))
}

/// After everything is sealed with the new key: only the key just replaced stays in
/// `KEYFILE.previous` (for nodes still running with it until they restart).
pub(crate) fn forget_older_keys(store: &StoreArgs, sealer: &Sealer) -> Result<()> {
    let path = previous_file(&key_file(store));
    let text: String = sealer
        .previous()
        .iter()
        .take(1)
        .map(|k| format!("{}\n", k.to_hex()))
        .collect();
    write_private(&path, text.as_bytes())
}
