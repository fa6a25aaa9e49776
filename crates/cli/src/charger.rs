//! `evgrid charger`: chargers connected directly by OCPP.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use evgrid_app::charging::chargers::{ChargerSpec, NewPlace};
use evgrid_model::{LatLng, OperatorId, Registration};

/// What to do with chargers.
#[derive(Subcommand)]
pub enum ChargerCommand {
    /// Register a charger (replaces an existing registration of the same id).
    Add {
        /// The charge point id (the last part of its URL /ocpp/{id}).
        #[arg(long)]
        id: String,
        /// Its HTTP Basic password (security profile 1/2), 16 to 40 characters; without one a
        /// random one is made and shown once (give it to the charger as its AuthorizationKey or
        /// BasicAuthPassword).
        #[arg(long, env = "EVGRID_CHARGER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The station it belongs to (created with --lat, --lng and --name if it does not exist).
        #[arg(long)]
        station: Option<String>,
        /// Number of connectors (EVSEs).
        #[arg(long, default_value_t = 1)]
        connectors: u32,
        /// Whose charger it is (default: the platform's own OperatorID).
        #[arg(long, default_value = crate::simulate::DEFAULT_PLATFORM_OPERATOR_ID)]
        operator_id: String,
        /// Latitude (WGS-84) of a new station.
        #[arg(long)]
        lat: Option<f64>,
        /// Longitude (WGS-84) of a new station.
        #[arg(long)]
        lng: Option<f64>,
        /// Name of a new station.
        #[arg(long)]
        name: Option<String>,
        /// Rated power per connector, kW.
        #[arg(long, default_value_t = 7)]
        power_kw: u32,
        /// A DC charger (default AC).
        #[arg(long)]
        dc: bool,
        /// The station's time-of-use prices, yuan per kWh, China time:
        /// `HH:MM=ELECTRICITY+SERVICE,...` from 00:00, e.g.
        /// `00:00=0.33+0.60,08:00=0.95+0.60,22:00=0.33+0.60`. Drivers' charges are billed with it.
        #[arg(long)]
        tariff: Option<String>,
        /// Not yet commissioned: its BootNotification is answered Pending (it stays connected
        /// and can be configured, but may not charge) until `evgrid charger commission` or the
        /// API's `POST /api/v1/chargers/{id}/registration` accepts it.
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Commission a charger (its next boot is accepted), or take it out of service with
    /// `--as pending|rejected`. A running server's API (`POST /api/v1/chargers/{id}/registration`)
    /// also asks a connected charger to boot again at once; from here the charger learns it at
    /// its next boot (a pending one boots again within a minute).
    Commission {
        #[arg(long)]
        id: String,
        #[arg(long = "as", default_value = "accepted", value_parser = parse_registration)]
        registration: Registration,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Set the lowest OCPP security profile a charger may connect with: 1 HTTP Basic, 2 HTTP
    /// Basic over TLS, 3 a TLS client certificate signed by the platform's authority. A charger
    /// raises itself to 3 at its first connection with its certificate; lower it for one that
    /// lost its certificate.
    SecurityProfile {
        #[arg(long)]
        id: String,
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
        profile: u8,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Print the platform's certificate authority (PEM; created if there is none yet): it signs
    /// chargers' certificates (SignCertificate) and verifies them at TLS (security profile 3).
    /// With --cert and --key, replace it with a given authority (restart running servers).
    Authority {
        /// A CA certificate (PEM) to use instead.
        #[arg(long, requires = "key")]
        cert: Option<std::path::PathBuf>,
        /// Its private key (PKCS#8 PEM); stored sealed with the secret key.
        #[arg(long, requires = "cert")]
        key: Option<std::path::PathBuf>,
        /// Write the certificate to this file instead of printing it.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// List registered chargers.
    List {
        #[command(flatten)]
        store: crate::open::StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a charger's registration (its station and history stay).
    Remove {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
}

fn parse_registration(text: &str) -> Result<Registration, String> {
    Registration::from_name(text).ok_or_else(|| "accepted, pending or rejected".to_owned())
}

/// Runs a charger command.
pub async fn run(command: ChargerCommand) -> Result<()> {
    match command {
        ChargerCommand::Add {
            id,
            password,
            station,
            connectors,
            operator_id,
            lat,
            lng,
            name,
            power_kw,
            dc,
            tariff,
            pending,
            store,
        } => {
            let tariff = tariff
                .as_deref()
                .map(evgrid_model::Tariff::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--tariff: {e}"))?;
            let place = match (lat, lng) {
                (Some(lat), Some(lng)) => {
                    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
                        bail!("--lat {lat} --lng {lng} is not a position");
                    }
                    Some(NewPlace {
                        location: LatLng::new(lat, lng),
                        name: name.clone().unwrap_or_else(|| format!("OCPP {id}")),
                    })
                }
                (None, None) => None,
                _ => bail!("give both --lat and --lng"),
            };
            let app = crate::open::open_app(&store).await?;
            let made = password.is_none();
            let password = match password {
                Some(p) => p,
                None => crate::user::random_password()?,
            };
            let spec = ChargerSpec {
                id,
                password: password.clone(),
                operator_id: OperatorId::new(&operator_id).context("--operator-id")?,
                operator_name: None,
                station_id: station,
                place,
                connectors,
                power_kw,
                dc,
                tariff,
                registration: if pending {
                    Registration::Pending
                } else {
                    Registration::Accepted
                },
            };
            let c = app.charging().add_charger(spec).await?;
            crate::audit::write(&app, "charger.add", &c.id, c.registration.as_str()).await?;
            println!(
                "charger {} registered ({} connectors{}{}{})",
                c.id,
                c.connectors,
                if pending {
                    ", pending until commissioned"
                } else {
                    ""
                },
                c.station_id
                    .as_ref()
                    .map(|s| format!(", station {}:{s}", c.operator_id))
                    .unwrap_or_default(),
                if made {
                    format!(", password {password} (shown once)")
                } else {
                    ", password set".to_owned()
                }
            );
        }
        ChargerCommand::List { store, json } => {
            let app = crate::open::open_app(&store).await?;
            let chargers = app.charging().chargers().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&chargers)?);
            } else if chargers.is_empty() {
                println!("no chargers registered (evgrid charger add --help)");
            } else {
                println!(
                    "{:<20} {:<10} {:<16} {:>4} {:<7} vendor/model",
                    "charger", "operator", "station", "conn", "ocpp"
                );
                for c in chargers {
                    println!(
                        "{:<20} {:<10} {:<16} {:>4} {:<7} {} {}",
                        c.id,
                        c.operator_id,
                        c.station_id.as_deref().unwrap_or("-"),
                        c.connectors,
                        c.ocpp_version.as_deref().unwrap_or("-"),
                        c.vendor.as_deref().unwrap_or(""),
                        c.model.as_deref().unwrap_or("")
                    );
                }
            }
        }
        ChargerCommand::Commission {
            id,
            registration,
            store,
        } => {
            let app = crate::open::open_app(&store).await?;
            app.charging().set_registration(&id, registration).await?;
            crate::audit::write(&app, "charger.registration", &id, registration.as_str()).await?;
            println!(
                "charger {id} is {} (it learns it at its next boot)",
                registration.as_str()
            );
        }
        ChargerCommand::SecurityProfile { id, profile, store } => {
            let app = crate::open::open_app(&store).await?;
            app.charging().set_security_profile(&id, profile).await?;
            crate::audit::write(
                &app,
                "charger.security_profile",
                &id,
                &format!("profile {profile}"),
            )
            .await?;
            println!("charger {id} must connect with security profile {profile} or higher");
        }
        ChargerCommand::Authority {
            cert,
            key,
            out,
            store,
        } => {
            let app = crate::open::open_app(&store).await?;
            let authority = match (cert, key) {
                (Some(cert), Some(key)) => {
                    let read = |p: &std::path::Path| {
                        std::fs::read_to_string(p)
                            .with_context(|| format!("reading {}", p.display()))
                    };
                    let given = app
                        .charging()
                        .import_certificate_authority(&read(&cert)?, &read(&key)?)
                        .await?;
                    crate::audit::write(
                        &app,
                        "charger.authority",
                        "certificate-authority",
                        "replaced",
                    )
                    .await?;
                    eprintln!("certificate authority replaced; restart running servers");
                    given
                }
                _ => app.charging().certificate_authority().await?,
            };
            match out {
                Some(path) => {
                    crate::output::write_atomically(&path, authority.certificate_pem.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("certificate authority written to {}", path.display());
                }
                None => print!("{}", authority.certificate_pem),
            }
        }
        ChargerCommand::Remove { id, store } => {
            let app = crate::open::open_app(&store).await?;
            if !app.charging().remove_charger(&id).await? {
                bail!("no charger {id}");
            }
            crate::audit::write(&app, "charger.remove", &id, "").await?;
            println!("charger {id} removed");
        }
    }
    Ok(())
}
