//! `evgrid operator`: the credentials of connected operator platforms. Secrets are accepted from
//! flags or environment variables, stored in the data directory, and never printed back
//! (except fresh ones made by `rotate`, once, for handing over).

use std::io::Read;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId};

/// What to do with operator credentials.
#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Register an operator platform and its T/CEC key set (replaces existing credentials).
    Add {
        /// The operator's 9-character OperatorID.
        #[arg(long)]
        operator_id: String,
        /// The operator's name.
        #[arg(long)]
        name: String,
        /// OperatorSecret it presents to query_token (16-64 characters).
        #[arg(long, env = "EVGRID_OPERATOR_SECRET", hide_env_values = true)]
        operator_secret: String,
        /// DataSecret: AES-128 key, 16 characters.
        #[arg(long, env = "EVGRID_DATA_SECRET", hide_env_values = true)]
        data_secret: String,
        /// DataSecretIV: AES IV, 16 characters.
        #[arg(long, env = "EVGRID_DATA_SECRET_IV", hide_env_values = true)]
        data_secret_iv: String,
        /// SigSecret: HMAC-MD5 key (16-64 characters).
        #[arg(long, env = "EVGRID_SIG_SECRET", hide_env_values = true)]
        sig_secret: String,
        /// The operator platform's base URL, for the calls evgrid makes (e.g. http://host/evcs/v1/).
        #[arg(long)]
        base_url: Option<String>,
        /// Datum of the operator's coordinates.
        #[arg(long, default_value = "gcj02", value_parser = parse_coords)]
        coords: CoordSystem,
        /// The OperatorSecret this operator issued to evgrid, for evgrid's own calls to its
        /// platform (default: the same as --operator-secret). evgrid calls as the platform's
        /// OperatorID (serve --platform-operator-id).
        #[arg(long, env = "EVGRID_PLATFORM_SECRET", hide_env_values = true)]
        platform_secret: Option<String>,
        /// Seconds after which this operator's connector statuses are shown as stale
        /// (default: the server's, 900).
        #[arg(long)]
        stale_after: Option<i64>,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// List registered operator platforms (secrets are not shown).
    List {
        #[command(flatten)]
        store: crate::open::StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an operator platform's credentials (its stations stay).
    Remove {
        #[arg(long)]
        operator_id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Show an operator's data-quality report from a running server (as a table, or --json).
    Quality {
        /// The operator's OperatorID.
        operator_id: String,
        /// The running evgrid server.
        #[arg(long, default_value = "http://127.0.0.1:8080/")]
        url: String,
        /// A bearer token of that operator's user, a regulator or an admin
        /// (POST /api/v1/auth/login).
        #[arg(long, env = "EVGRID_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace an operator's four secrets with fresh random ones and print them once.
    Rotate {
        #[arg(long)]
        operator_id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Replace the key that seals every operator's secrets in the database (the key file,
    /// --secret-key-file): a new key is made, every secret sealed again with it, and the tokens
    /// issued to operators dropped (they ask for new ones). Restart running servers after it.
    RotateKey {
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
}

fn parse_coords(s: &str) -> Result<CoordSystem, String> {
    s.parse()
}

/// 16 random characters from 0-9, A-Z, a-z, read from the system's random source.
fn random_secret() -> Result<String> {
    random_text(16)
}

/// `n` (at most 32) random characters from 0-9, A-Z, a-z, read from the system's random
/// source: secrets and passwords.
pub(crate) fn random_text(n: usize) -> Result<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 128];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    // Rejection sampling keeps every character equally likely.
    let out: String = bytes
        .iter()
        .filter(|b| usize::from(**b) < 248)
        .take(n)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    if out.len() < n {
        bail!("not enough randomness; try again");
    }
    Ok(out)
}

fn operator_id(text: &str) -> Result<OperatorId> {
    OperatorId::new(text).context("--operator-id")
}

/// GET over plain HTTP/1.1 with `Connection: close`; returns (status, body).
fn http_get(url: &str, token: Option<&str>) -> Result<(u16, Vec<u8>)> {
    use std::io::Write;
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// URLs"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)
        .with_context(|| format!("connecting to {host}; is evgrid serving there? (--url)"))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP answer")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status line")?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        bail!("chunked answers are not supported here");
    }
    Ok((status, raw[split + 4..].to_vec()))
}

fn print_quality(r: &serde_json::Value) {
    let n = |v: &serde_json::Value| v.as_i64().map_or_else(|| "-".to_owned(), |x| x.to_string());
    // Times in China time, as the operators' own systems show them.
    let when = |v: &serde_json::Value| {
        v.as_i64().map_or_else(
            || "-".to_owned(),
            |t| format!("{} (UTC+8)", evgrid_tcec::time::china_datetime(t)),
        )
    };
    println!(
        "operator {} {} — data quality",
        r["operator_id"].as_str().unwrap_or(""),
        r["name"].as_str().unwrap_or("")
    );
    let m = &r["messages"];
    let list = |o: &serde_json::Value| {
        o.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "none".to_owned())
    };
    println!("  messages accepted:  {}", list(&m["accepted"]));
    println!("  messages refused:   {} (by Ret)", list(&m["refused"]));
    println!(
        "  latency TimeStamp→receipt: p50 {} s, p99 {} s over {} samples; last seen {}",
        n(&m["latency_s_p50"]),
        n(&m["latency_s_p99"]),
        n(&m["latency_samples"]),
        when(&m["last_seen"])
    );
    let c = &r["connectors"];
    println!(
        "  connectors: {} total, {} never reported, {} stale (older than {} s)",
        n(&c["total"]),
        n(&c["unreported"]),
        n(&c["stale"]),
        n(&c["stale_after_seconds"])
    );
    let s = &r["stations"];
    println!(
        "  stations: {} total, {} missing required fields, {} outside the city, {} with swapped coordinates, {} within 30 m of another operator's",
        n(&s["total"]),
        n(&s["missing_required_fields"]),
        n(&s["outside_city"]),
        n(&s["swapped_coordinates"]),
        n(&s["duplicates_across_operators"])
    );
    let p = &r["pull"];
    if p.is_null() {
        println!("  pull: not polled (no base URL registered)");
    } else {
        println!(
            "  pull from {}: {} ok, {} failed, {} failing in a row; last success {}, next {}",
            p["base_url"].as_str().unwrap_or("-"),
            n(&p["polls_ok"]),
            n(&p["polls_failed"]),
            n(&p["consecutive_failures"]),
            when(&p["last_success_at"]),
            when(&p["next_poll_at"])
        );
        if let Some(e) = p["last_error"].as_str() {
            println!("  pull last error: {e}");
        }
        let l = &p["last_result"];
        if !l.is_null() {
            println!(
                "  last pull: {} stations ({} rejected), {} statuses ({} applied, {} unknown connectors), {} differ from pushed, {} never pushed",
                n(&l["stations_pulled"]),
                n(&l["stations_rejected"]),
                n(&l["statuses_pulled"]),
                n(&l["statuses_applied"]),
                n(&l["unknown_connectors"]),
                n(&l["differing_from_push"]),
                n(&l["never_pushed"])
            );
        }
    }
    for refusal in m["recent_refusals"].as_array().into_iter().flatten() {
        println!(
            "  refused {} Ret {}: {}",
            refusal["interface"].as_str().unwrap_or(""),
            refusal["ret"],
            refusal["msg"].as_str().unwrap_or("")
        );
    }
}

/// Runs an operator command.
pub async fn run(command: OperatorCommand) -> Result<()> {
    match command {
        OperatorCommand::Add {
            operator_id: id,
            name,
            operator_secret,
            data_secret,
            data_secret_iv,
            sig_secret,
            base_url,
            coords,
            platform_secret,
            stale_after,
            store,
        } => {
            let credentials = OperatorCredentials {
                operator_id: operator_id(&id)?,
                operator_secret,
                data_secret,
                data_secret_iv,
                sig_secret,
                base_url,
                coords,
                platform_secret,
                stale_after_seconds: stale_after,
            };
            evgrid_tcec::credentials::check(&credentials)?;
            let app = crate::open::open_app(&store).await?;
            app.live().register_operator(&name, &credentials).await?;
            crate::audit::write(
                &app,
                "operator.credentials",
                credentials.operator_id.as_str(),
                "registered",
            )
            .await?;
            tracing::info!(operator_id = %credentials.operator_id, "operator credentials stored");
            println!("operator {} ({name}) registered", credentials.operator_id);
        }
        OperatorCommand::List { store, json } => {
            let app = crate::open::open_app(&store).await?;
            let names = app.network().operators().await?;
            let rows: Vec<serde_json::Value> = app
                .live()
                .all_operator_credentials()
                .await?
                .into_iter()
                .map(|c| {
                    let name = names
                        .iter()
                        .find(|o| o.id == c.operator_id)
                        .map(|o| o.name.clone());
                    serde_json::json!({
                        "operator_id": c.operator_id.as_str(),
                        "name": name,
                        "base_url": c.base_url,
                        "coords": c.coords.as_str(),
                        "stale_after_seconds": c.stale_after_seconds,
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no operator platforms registered (evgrid operator add --help)");
            } else {
                println!("{:<10} {:<8} {:<40} name", "operator", "coords", "base URL");
                for r in rows {
                    println!(
                        "{:<10} {:<8} {:<40} {}",
                        r["operator_id"].as_str().unwrap_or(""),
                        r["coords"].as_str().unwrap_or(""),
                        r["base_url"].as_str().unwrap_or("-"),
                        r["name"].as_str().unwrap_or("")
                    );
                }
            }
        }
        OperatorCommand::Remove {
            operator_id: id,
            store,
        } => {
            let id = operator_id(&id)?;
            let app = crate::open::open_app(&store).await?;
            if !app.live().remove_operator(&id).await? {
                bail!("operator {id} has no credentials");
            }
            crate::audit::write(&app, "operator.credentials", id.as_str(), "removed").await?;
            println!("credentials of operator {id} removed");
        }
        OperatorCommand::Quality {
            operator_id: id,
            url,
            token,
            json,
        } => {
            let base = if url.ends_with('/') {
                url
            } else {
                format!("{url}/")
            };
            let (status, body) = http_get(
                &format!("{base}api/v1/operators/{id}/data-quality"),
                token.as_deref(),
            )?;
            let value: serde_json::Value =
                serde_json::from_slice(&body).context("the server's answer is not JSON")?;
            if status != 200 {
                bail!(
                    "{}",
                    value["detail"].as_str().unwrap_or("the server refused")
                );
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_quality(&value);
            }
        }
        OperatorCommand::Rotate {
            operator_id: id,
            store,
        } => {
            let id = operator_id(&id)?;
            let app = crate::open::open_app(&store).await?;
            let Some(mut c) = app.live().operator_credentials(&id).await? else {
                bail!("operator {id} has no credentials; add it first (evgrid operator add)");
            };
            let name = app
                .network()
                .operators()
                .await?
                .into_iter()
                .find(|o| o.id == id)
                .map_or_else(|| id.to_string(), |o| o.name);
            c.operator_secret = random_secret()?;
            c.data_secret = random_secret()?;
            c.data_secret_iv = random_secret()?;
            c.sig_secret = random_secret()?;
            app.live().register_operator(&name, &c).await?;
            crate::audit::write(&app, "operator.credentials", id.as_str(), "rotated").await?;
            tracing::info!(operator_id = %id, "operator credentials rotated");
            println!("new secrets of operator {id} (shown once; hand them over securely):");
            println!("OperatorSecret={}", c.operator_secret);
            println!("DataSecret={}", c.data_secret);
            println!("DataSecretIV={}", c.data_secret_iv);
            println!("SigSecret={}", c.sig_secret);
        }
        OperatorCommand::RotateKey { store } => {
            let next = crate::secret_key::rotate(&store)?;
            let settings = evgrid_app::Settings {
                sealer: Some(next.clone()),
                ..evgrid_app::Settings::default()
            };
            let app = crate::open::open_app_with(&store, settings).await?;
            let count = app.live().reseal_all().await?;
            let superiors = app.superiors().reseal_all().await?;
            app.charging().reseal_certificate_authority().await?;
            crate::audit::write(
                &app,
                "secret_key.rotate",
                "secret.key",
                &format!("{count} operators, {superiors} superiors sealed again"),
            )
            .await?;
            crate::secret_key::forget_older_keys(&store, &next)?;
            tracing::info!(operators = count, superiors, "secret key rotated");
            println!(
                "secret key replaced in {} ({count} operators' and {superiors} superiors' secrets \
                 sealed again; tokens issued to operators dropped); restart running servers",
                crate::secret_key::key_file(&store).display()
            );
        }
    }
    Ok(())
}
