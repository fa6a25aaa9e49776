//! `evgrid token`: id tokens (RFID cards, tags) that authorize charges at OCPP chargers.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use evgrid_app::charging::tokens::{
    parse_expiry, parse_token_csv, NewToken, TokenChange, TokenScope,
};
use evgrid_model::time::format_rfc3339;
use evgrid_model::{IdToken, OperatorId, TokenFilter, TokenKind, TokenStatus};

/// What to do with id tokens.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Add a token (an RFID card's UID, a tag); `--replace` replaces one with the same id.
    Add {
        /// What the charger reads: 1 to 36 printable ASCII characters (1.6 chargers send at
        /// most 20).
        #[arg(long)]
        id: String,
        /// iso14443 (most cards), iso15693, emaid, central, key_code, local, mac_address.
        #[arg(long, default_value = "iso14443", value_parser = parse_kind)]
        kind: TokenKind,
        /// accepted, blocked, expired or invalid.
        #[arg(long, default_value = "accepted", value_parser = parse_status)]
        status: TokenStatus,
        /// Valid until: RFC 3339 or a date (through that day, China time).
        #[arg(long, value_parser = parse_expiry_arg)]
        expires: Option<i64>,
        /// Its group (OCPP parentIdTag / groupIdToken): a fleet, a family, a master pass.
        #[arg(long)]
        group: Option<String>,
        /// The driver account it belongs to (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// The operator that issued it: valid at that operator's chargers only (default: the
        /// platform's, valid everywhere).
        #[arg(long)]
        operator_id: Option<String>,
        /// A note (the name on the card).
        #[arg(long)]
        label: Option<String>,
        /// Replace a token with the same id.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// List tokens (100 a page).
    List {
        /// Only this operator's.
        #[arg(long)]
        operator_id: Option<String>,
        /// Only this account's.
        #[arg(long)]
        owner: Option<String>,
        /// Only tokens of this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<TokenStatus>,
        /// Page number, from 1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
        page: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Block a token (a lost card): chargers are told Blocked from now on.
    Block {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Accept a blocked token again.
    Unblock {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Remove a token (the charges it started stay in the history).
    Remove {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Import tokens from CSV (UTF-8, Excel's BOM allowed) with a header row: `token` and any
    /// of `kind,status,expires_at,group_id,owner,operator_id,label`. All rows or none; ids
    /// already stored are kept unless `--replace`.
    Import {
        file: PathBuf,
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
}

fn parse_kind(text: &str) -> Result<TokenKind, String> {
    TokenKind::from_name(text).ok_or_else(|| {
        let names: Vec<_> = TokenKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

fn parse_status(text: &str) -> Result<TokenStatus, String> {
    TokenStatus::from_name(text).ok_or_else(|| "accepted, blocked, expired or invalid".to_owned())
}

fn parse_expiry_arg(text: &str) -> Result<i64, String> {
    parse_expiry(text)
        .ok_or_else(|| "RFC 3339 (2027-12-31T23:59:59+08:00) or a date (2027-12-31)".into())
}

fn show(t: &IdToken) -> String {
    format!(
        "{:<24} {:<11} {:<9} {:<20} {:<12} {:<12} {:<10} {}",
        t.id,
        t.kind.as_str(),
        t.status.as_str(),
        t.expires_at
            .map(format_rfc3339)
            .unwrap_or_else(|| "-".into()),
        t.group_id.as_deref().unwrap_or("-"),
        t.owner.as_deref().unwrap_or("-"),
        t.operator_id
            .as_ref()
            .map(OperatorId::as_str)
            .unwrap_or("-"),
        t.label.as_deref().unwrap_or("")
    )
}

const HEADER: &str = "token                    kind        status    expires              group        owner        operator   label";

async fn set_status(id: &str, store: &crate::open::StoreArgs, status: TokenStatus) -> Result<()> {
    let app = crate::open::open_app(store).await?;
    let change = TokenChange {
        status: Some(status),
        ..TokenChange::default()
    };
    let t = app
        .charging()
        .change_token(&TokenScope::Everything, id, change)
        .await?;
    crate::audit::write(&app, "token.change", &t.id, t.status.as_str()).await?;
    println!("token {} is {} now", t.id, t.status.as_str());
    Ok(())
}

/// Runs a token command.
pub async fn run(command: TokenCommand) -> Result<()> {
    let all = TokenScope::Everything;
    match command {
        TokenCommand::Add {
            id,
            kind,
            status,
            expires,
            group,
            owner,
            operator_id,
            label,
            replace,
            store,
        } => {
            let operator_id = operator_id
                .map(|o| OperatorId::new(&o))
                .transpose()
                .context("--operator-id")?;
            let app = crate::open::open_app(&store).await?;
            let new = NewToken {
                id,
                kind,
                status,
                expires_at: expires,
                group_id: group,
                owner,
                operator_id,
                label,
            };
            let (t, created) = app.charging().add_token(&all, new, replace).await?;
            let action = if created {
                "token.add"
            } else {
                "token.replace"
            };
            crate::audit::write(&app, action, &t.id, t.status.as_str()).await?;
            println!(
                "{}",
                if created {
                    "token added"
                } else {
                    "token replaced"
                }
            );
            println!("{HEADER}\n{}", show(&t));
        }
        TokenCommand::List {
            operator_id,
            owner,
            status,
            page,
            json,
            store,
        } => {
            let filter = TokenFilter {
                operator_id: operator_id
                    .map(|o| OperatorId::new(&o))
                    .transpose()
                    .context("--operator-id")?,
                owner,
                status,
                usable_at: None,
            };
            let app = crate::open::open_app(&store).await?;
            let per_page = 100;
            let (tokens, total) = app
                .charging()
                .tokens(&all, filter, (page - 1) * per_page, per_page)
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"items": tokens, "total": total})
                    )?
                );
            } else if total == 0 {
                println!("no tokens (evgrid token add --help)");
            } else {
                println!("{HEADER}");
                for t in &tokens {
                    println!("{}", show(t));
                }
                let pages = (total + per_page - 1) / per_page;
                println!("page {page} of {pages}, {total} tokens");
            }
        }
        TokenCommand::Block { id, store } => {
            set_status(&id, &store, TokenStatus::Blocked).await?;
        }
        TokenCommand::Unblock { id, store } => {
            set_status(&id, &store, TokenStatus::Accepted).await?;
        }
        TokenCommand::Remove { id, store } => {
            let app = crate::open::open_app(&store).await?;
            app.charging().remove_token(&all, &id).await?;
            crate::audit::write(&app, "token.remove", &id, "").await?;
            println!("token {id} removed");
        }
        TokenCommand::Import {
            file,
            replace,
            store,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let tokens = parse_token_csv(&text).with_context(|| file.display().to_string())?;
            let rows = tokens.len();
            let app = crate::open::open_app(&store).await?;
            let counts = app
                .charging()
                .import_tokens(&all, tokens, replace)
                .await
                .with_context(|| file.display().to_string())?;
            crate::audit::write(
                &app,
                "token.import",
                &file.display().to_string(),
                &format!("{} added, {} replaced", counts.inserted, counts.replaced),
            )
            .await?;
            println!(
                "{rows} rows: {} tokens added, {} replaced, {} already stored and kept{}",
                counts.inserted,
                counts.replaced,
                counts.kept,
                if counts.kept > 0 && !replace {
                    " (--replace replaces them)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
