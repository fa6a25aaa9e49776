//! `evgrid superior`: the superior supervision platforms (provincial, national) evgrid reports
//! the city to over T/CEC 102. The key set a superior issued is accepted from flags or
//! environment variables, stored sealed, and never printed back.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use evgrid_app::superiors::{DeliveryReport, SuperiorSettings};
use evgrid_tcec::supervision::Profile;

/// The key set a superior issued to evgrid.
#[derive(clap::Args, Clone)]
pub struct SuperiorKeys {
    /// OperatorSecret evgrid presents to the superior's query_token (16-64 characters).
    #[arg(long, env = "EVGRID_SUPERIOR_OPERATOR_SECRET", hide_env_values = true)]
    pub operator_secret: String,
    /// DataSecret: AES-128 key, 16 characters.
    #[arg(long, env = "EVGRID_SUPERIOR_DATA_SECRET", hide_env_values = true)]
    pub data_secret: String,
    /// DataSecretIV: AES IV, 16 characters.
    #[arg(long, env = "EVGRID_SUPERIOR_DATA_SECRET_IV", hide_env_values = true)]
    pub data_secret_iv: String,
    /// SigSecret: HMAC-MD5 key (16-64 characters).
    #[arg(long, env = "EVGRID_SUPERIOR_SIG_SECRET", hide_env_values = true)]
    pub sig_secret: String,
}

/// What to do with superior platforms.
#[derive(Subcommand)]
pub enum SuperiorCommand {
    /// Add a superior platform (or replace its settings). A new one gets the whole city
    /// queued: every station and every connector's status; a running server sends it.
    Add {
        /// An id of your choosing (letters, digits, - and _), e.g. jx-province.
        #[arg(long)]
        id: String,
        /// The superior's name, for people (e.g. 江西省充电设施监管平台).
        #[arg(long)]
        name: String,
        /// The superior's T/CEC base URL, e.g. http://host:port/evcs/v1/.
        #[arg(long)]
        base_url: String,
        /// evgrid's OperatorID at the superior (9 characters, as it was assigned).
        #[arg(long, env = "EVGRID_PLATFORM_OPERATOR_ID")]
        platform_operator_id: String,
        #[command(flatten)]
        keys: SuperiorKeys,
        /// The superior's profile: `standard`, `provincial`, or a file (.toml or .json) with a
        /// province's own (see `evgrid superior profile provincial`).
        #[arg(long, default_value = "provincial")]
        profile: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// List the superior platforms (secrets are not shown).
    List {
        #[command(flatten)]
        store: crate::open::StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a superior platform with its outbox and figures.
    Remove {
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Replace the key set of a superior (the new one it issued); what is queued is sent with it.
    Rotate {
        id: String,
        #[command(flatten)]
        keys: SuperiorKeys,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// How reporting to a superior stands: attempts by interface and Ret, the backlog and its
    /// oldest item, the last success, the delivery lag, disputed orders.
    Status {
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue the whole city again for a superior (every station and status), e.g. after it
    /// lost its data.
    Resend {
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Print a shipped profile as TOML, to start a province's own file from.
    Profile {
        /// `standard` or `provincial`.
        #[arg(default_value = "provincial")]
        name: String,
    },
}

/// A profile by name or from a file (.toml, else JSON); checked.
pub fn load_profile(text: &str) -> Result<Profile> {
    if let Ok(p) = Profile::builtin(text) {
        return Ok(p);
    }
    let path = Path::new(text);
    if !path.exists() {
        bail!("--profile {text:?} is neither standard, provincial nor a file");
    }
    let body = std::fs::read_to_string(path).with_context(|| format!("reading {text}"))?;
    let profile: Profile = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&body).with_context(|| format!("{text}: not a profile"))?
    } else {
        serde_json::from_str(&body).with_context(|| format!("{text}: not a profile"))?
    };
    profile.check().with_context(|| text.to_owned())?;
    Ok(profile)
}

fn time_text(unix: Option<i64>) -> String {
    unix.map_or_else(|| "never".into(), evgrid_model::time::format_china_local)
}

/// Prints a delivery report as people read it.
pub fn print_delivery(r: &DeliveryReport) {
    println!(
        "superior {} ({}) at {} as {} · profile {}",
        r.superior.id,
        r.superior.name,
        r.superior.base_url,
        r.superior.platform_operator_id,
        r.superior.profile.name
    );
    println!(
        "backlog {} pending (oldest {}), {} given up (flagged) · last success {}",
        r.pending,
        r.oldest_pending_seconds
            .map_or_else(|| "-".into(), |s| format!("{s:.1} s old")),
        r.given_up,
        time_text(r.last_success_at)
    );
    println!(
        "delivery lag over the last {} items: p50 {} · p99 {}",
        r.lag_samples,
        r.lag_p50_ms
            .map_or_else(|| "-".into(), |v| format!("{v} ms")),
        r.lag_p99_ms
            .map_or_else(|| "-".into(), |v| format!("{v} ms"))
    );
    println!(
        "{:<12} {:>9} {:>10} {:>9}",
        "kind", "pending", "given up", "delivered"
    );
    for b in &r.backlog {
        println!(
            "{:<12} {:>9} {:>10} {:>9}",
            b.kind, b.pending, b.given_up, b.delivered
        );
    }
    println!(
        "{:<36} {:>6} {:>10} {:>9}",
        "interface", "answer", "delivered", "attempts"
    );
    for a in &r.attempts {
        println!(
            "{:<36} {:>6} {:>10} {:>9}",
            a.interface,
            a.ret.map_or_else(|| "none".into(), |r| r.to_string()),
            if a.delivered { "yes" } else { "no" },
            a.count
        );
    }
    if !r.disputes.is_empty() {
        println!("disputed orders:");
        for d in &r.disputes {
            println!(
                "  {} {} {}:{} reason {}",
                d.day, d.superior_ref, d.operator_id, d.session_ref, d.reason
            );
        }
    }
    if let Some(e) = &r.last_error {
        println!("last error: {e}");
    }
}

/// Runs a superior command.
pub async fn run(command: SuperiorCommand) -> Result<()> {
    match command {
        SuperiorCommand::Add {
            id,
            name,
            base_url,
            platform_operator_id,
            keys,
            profile,
            store,
        } => {
            let profile = load_profile(&profile)?;
            let settings = SuperiorSettings {
                id: id.clone(),
                name,
                base_url,
                platform_operator_id,
                operator_secret: keys.operator_secret,
                data_secret: keys.data_secret,
                data_secret_iv: keys.data_secret_iv,
                sig_secret: keys.sig_secret,
                profile,
            };
            let app = crate::open::open_app(&store).await?;
            let new = app.superiors().put(&settings).await?;
            if new {
                println!(
                    "superior {id} added; the whole city is queued for it (a running server sends it)"
                );
            } else {
                println!("superior {id} updated");
            }
        }
        SuperiorCommand::List { store, json } => {
            let app = crate::open::open_app(&store).await?;
            let list = app.superiors().list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no superior platforms (evgrid superior add)");
            } else {
                for s in list {
                    println!(
                        "{:<16} {:<24} {} as {} · profile {}",
                        s.id, s.name, s.base_url, s.platform_operator_id, s.profile.name
                    );
                }
            }
        }
        SuperiorCommand::Remove { id, store } => {
            let app = crate::open::open_app(&store).await?;
            if !app.superiors().remove(&id).await? {
                bail!("no superior {id}");
            }
            println!("superior {id} removed");
        }
        SuperiorCommand::Rotate { id, keys, store } => {
            let app = crate::open::open_app(&store).await?;
            let Some(mut settings) = app.superiors().settings(&id).await? else {
                bail!("no superior {id}");
            };
            settings.operator_secret = keys.operator_secret;
            settings.data_secret = keys.data_secret;
            settings.data_secret_iv = keys.data_secret_iv;
            settings.sig_secret = keys.sig_secret;
            app.superiors().put(&settings).await?;
            println!("superior {id}: key set replaced");
        }
        SuperiorCommand::Status { id, store, json } => {
            let app = crate::open::open_app(&store).await?;
            let Some(report) = app.superiors().delivery(&id).await? else {
                bail!("no superior {id}");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_delivery(&report);
            }
        }
        SuperiorCommand::Resend { id, store } => {
            let app = crate::open::open_app(&store).await?;
            if app.superiors().settings(&id).await?.is_none() {
                bail!("no superior {id}");
            }
            let n = app.superiors().resend_everything(&id).await?;
            println!("{n} reports queued for {id}");
        }
        SuperiorCommand::Profile { name } => {
            let profile = Profile::builtin(&name)?;
            print!("{}", toml::to_string_pretty(&profile)?);
        }
    }
    Ok(())
}
