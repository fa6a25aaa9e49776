//! `evgrid demo`: on an empty data directory, synthesize and import the Ganzhou network; then
//! serve it with simulated operator platforms (T/CEC) and chargers (OCPP), and the regulator's
//! demo account.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context, Result};
use evgrid_app::App;
use evgrid_model::{Equipment, Station};

use crate::import::{print_report, run_import};
use crate::output::write_private;
use crate::serve::{open_serving_app, serve_app, start_poller, start_superiors, ServeArgs};
use crate::{simulate, user};

/// The seed of the demo network (the city's reporting date).
pub(crate) const DEMO_SEED: u64 = 20_220_701;

/// The synthetic stations the demo may connect by OCPP: every seventh public one.
fn demo_candidates(network: &evgrid_synth::Network) -> impl Iterator<Item = &Station> {
    network
        .stations
        .iter()
        .filter(|s| s.category() == evgrid_model::Category::Public)
        .step_by(7)
}

/// The piles of `stations`, station by station, until `count` are taken. A charger's identity
/// is its pile's id and the synthetic operators reuse pile ids (P000008E01 at two operators'
/// stations P000008): a station with a pile id already taken is left out, so that no two
/// simulated chargers share an identity (they would take each other's connection over forever).
fn pick_demo_piles<'a>(
    stations: &[&'a Station],
    count: usize,
) -> Vec<(&'a Station, &'a Equipment)> {
    let mut taken = std::collections::HashSet::new();
    let mut piles = Vec::new();
    for s in stations {
        if piles.len() >= count {
            break;
        }
        if s.equipment.iter().any(|e| taken.contains(e.id.as_str())) {
            continue;
        }
        for e in &s.equipment {
            taken.insert(e.id.as_str());
            piles.push((*s, e));
        }
    }
    piles
}

/// The demo's directly connected chargers: the piles of some synthetic public stations, whose
/// operators connect those sites by OCPP instead of through their platforms (so the city's
/// totals stay as they are). Registered on first use, each with a random password of its own,
/// kept in DATA_DIR/demo-chargers.txt (0600) for the simulated chargers of later starts.
/// Returns (charger id, connectors, password) and the stations they take (`OPERATOR:STATION`).
async fn demo_chargers(
    app: &App,
    data_dir: &Path,
    network: &evgrid_synth::Network,
    count: u32,
) -> Result<(
    Vec<(String, u32, Option<String>)>,
    std::collections::HashSet<String>,
)> {
    // A data directory that holds other stations (an operator's file imported first) has no
    // synthetic station to put a charger on: those are left out.
    let mut present = Vec::new();
    for s in demo_candidates(network) {
        let key = evgrid_model::StationKey {
            operator_id: s.operator_id.clone(),
            station_id: s.id.clone(),
        };
        if app.network().station(&key).await?.is_some() {
            present.push(s);
        }
    }
    let chargers = pick_demo_piles(&present, count as usize);
    let stations: std::collections::HashSet<String> = chargers
        .iter()
        .map(|(s, _)| format!("{}:{}", s.operator_id, s.id))
        .collect();
    let file = data_dir.join("demo-chargers.txt");
    let mut passwords: std::collections::HashMap<String, String> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(id, p)| (id.to_owned(), p.to_owned()))
        .collect();
    let known = app.charging().chargers().await?;
    let fresh: Vec<_> = chargers
        .iter()
        .filter(|(_, e)| {
            !passwords.contains_key(&e.id)
                || !known
                    .iter()
                    .any(|c| c.id == e.id && c.password_hash.is_some())
        })
        .collect();
    if !fresh.is_empty() {
        eprintln!(
            "registering {} piles of {} synthetic stations as directly connected OCPP chargers \
             (their passwords in {})",
            fresh.len(),
            stations.len(),
            file.display()
        );
        for (s, e) in fresh {
            let password = user::random_password()?;
            passwords.insert(e.id.clone(), password.clone());
            let spec = evgrid_app::charging::chargers::ChargerSpec {
                id: e.id.clone(),
                password,
                operator_id: s.operator_id.clone(),
                operator_name: None,
                station_id: Some(s.id.clone()),
                place: None,
                connectors: u32::try_from(e.connectors.len()).unwrap_or(1),
                power_kw: e.power.0 / 1000,
                dc: e.equipment_type == evgrid_model::EquipmentType::DC,
                tariff: None,
                registration: evgrid_model::Registration::Accepted,
            };
            app.charging().add_charger(spec).await?;
        }
        let mut text =
            String::from("# evgrid demo chargers: charge point id and its HTTP Basic password\n");
        let mut ids: Vec<_> = passwords.iter().collect();
        ids.sort();
        for (id, password) in ids {
            text.push_str(&format!("{id} {password}\n"));
        }
        write_private(&file, text.as_bytes())?;
    }
    let ids = chargers
        .into_iter()
        .map(|(_, e)| {
            let password = passwords.get(&e.id).cloned();
            (
                e.id.clone(),
                u32::try_from(e.connectors.len()).unwrap_or(1),
                password,
            )
        })
        .collect();
    Ok((ids, stations))
}

/// The simulated drivers' cards as id tokens (accepted, one group), so that the simulated
/// chargers' local starts are authorized.
async fn demo_cards(app: &App) -> Result<()> {
    use evgrid_app::charging::tokens::{NewToken, TokenScope};
    let cards = (0..evgrid_sim::ocpp::SIM_CARDS)
        .map(|n| NewToken {
            group_id: Some("SIM-DRIVERS".into()),
            label: Some(format!("simulated driver {n}")),
            ..NewToken::accepted(
                evgrid_sim::ocpp::sim_card(n),
                evgrid_model::TokenKind::Iso14443,
            )
        })
        .collect();
    let counts = app
        .charging()
        .import_tokens(&TokenScope::Everything, cards, false)
        .await?;
    if counts.inserted > 0 {
        eprintln!(
            "registered {} simulated drivers' cards as id tokens (SIM-0000…)",
            counts.inserted
        );
    }
    Ok(())
}

/// What the demo runs besides the server.
pub(crate) struct DemoOptions {
    pub simulate: bool,
    pub faults: bool,
    pub chargers: u32,
    pub regulator_password: Option<String>,
}

/// The demo's regulator account: made on first start (with the given or a random password),
/// its password reset when one is given; printed and kept in DATA_DIR/demo-accounts.txt.
async fn demo_regulator(app: &App, data_dir: &Path, password: Option<String>) -> Result<()> {
    const NAME: &str = "regulator";
    let file = data_dir.join("demo-accounts.txt");
    let exists = app.accounts().find_user(NAME).await?.is_some();
    let password = match (exists, password) {
        (false, given) => {
            let p = match given {
                Some(p) => p,
                None => user::random_password()?,
            };
            app.accounts()
                .add_user(NAME, &p, evgrid_model::Role::Regulator, None)
                .await?;
            p
        }
        (true, Some(p)) => {
            app.accounts().set_password(NAME, &p).await?;
            p
        }
        (true, None) => {
            println!("dashboard login: see {} (user {NAME})", file.display());
            return Ok(());
        }
    };
    write_private(
        &file,
        format!("# evgrid demo accounts (the dashboard at /dashboard)\n{NAME} {password}\n")
            .as_bytes(),
    )?;
    println!(
        "dashboard login: {NAME} / {password} (kept in {})",
        file.display()
    );
    Ok(())
}

pub(crate) async fn run(mut args: ServeArgs, seed: u64, options: DemoOptions) -> Result<()> {
    let DemoOptions {
        simulate,
        faults,
        chargers,
        regulator_password,
    } = options;
    let app = open_serving_app(&args).await?;
    // The network the simulators play (and, on an empty data directory, the one imported).
    let network = evgrid_synth::generate(app.reference(), seed);
    if app.network().station_count() == 0 {
        let dir = args.store.data_dir.join("synthetic-network");
        eprintln!(
            "empty data directory: synthesizing the Ganzhou network (seed {seed}) into {}",
            dir.display()
        );
        network
            .write(&dir, app.reference())
            .context("writing the synthetic network")?;
        let report = run_import(&app, &[dir], None).await?;
        print_report(&report, false);
        if !report.committed {
            bail!("the synthetic network did not import; this is a bug");
        }
    } else {
        eprintln!(
            "data directory holds {} stations; serving them",
            app.network().station_count()
        );
    }
    demo_regulator(&app, &args.store.data_dir, regulator_password).await?;
    // The demo accepts unknown OCPP chargers and pulls every minute unless told otherwise.
    args.accept_unknown_chargers = true;
    if args.poll_interval == 300 {
        args.poll_interval = 60;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (charger_ids, ocpp_stations) = if simulate && chargers > 0 {
        demo_cards(&app).await?;
        demo_chargers(&app, &args.store.data_dir, &network, chargers).await?
    } else {
        (Vec::new(), std::collections::HashSet::new())
    };
    let platforms = if simulate {
        let names: Vec<(evgrid_model::OperatorId, String)> = network
            .operators
            .iter()
            .map(|o| (o.id.clone(), o.name_zh.clone()))
            .collect();
        // An operator registered with its own secrets (not the demo's) is not simulated.
        let mut kept = Vec::new();
        for mut p in simulate::demo_platforms(&network, &args.platform_operator_id, 7) {
            // Sites connected by OCPP are not behind the operator's platform.
            p.stations.retain(|s| {
                !ocpp_stations.contains(&format!("{}:{}", s.operator_id, s.station_id))
            });
            let id = evgrid_model::OperatorId::new(&p.operator_id)?;
            match app.live().operator_credentials(&id).await? {
                Some(c) if !simulate::is_demo_registration(&c) => {
                    eprintln!("{id} is registered with its own credentials: not simulated");
                }
                _ => kept.push(p),
            }
        }
        Some((kept, names))
    } else {
        None
    };
    let behaviour = simulate::Behaviour {
        interval_ms: 1000,
        changes_per_round: 10,
        sample_seconds: 5,
        fault_share: if faults { 0.02 } else { 0.0 },
        hang_operator: faults.then(|| "EVGSYN007".to_owned()),
        hang_after: 90,
        hang_for: 120,
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let base_path = args.tcec_base_path.clone();
    let poller_app = app.clone();
    let poller_args = args.clone();
    let sims_stop = stopped.clone();
    tokio::spawn(async move {
        let Ok(addr) = bound_rx.await else { return };
        if let Some((platforms, names)) = platforms {
            let url = format!("http://{addr}{base_path}");
            match simulate::start(platforms, &url, seed, &behaviour, 0, sims_stop).await {
                Ok(sims) => {
                    if let Err(e) = simulate::register(poller_app.live(), &sims, &names).await {
                        tracing::error!(error = %e, "demo: registering the simulated operators");
                    }
                    eprintln!(
                        "{} simulated operator platforms: T/CEC servers on {} pushing to {url}{}",
                        sims.len(),
                        sims.iter()
                            .map(|(_, u)| u.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if faults {
                            " (2% faulty pushes; EVGSYN007 stops answering from 90 s to 210 s)"
                        } else {
                            ""
                        }
                    );
                    // Each simulator's tasks hold it; they run until the stop signal.
                }
                Err(e) => tracing::error!(error = %e, "demo: starting the simulated operators"),
            }
        }
        if !charger_ids.is_empty() {
            let csms = format!("ws://{addr}/ocpp/");
            let half = charger_ids.len() / 2;
            for (ids, version) in [
                (&charger_ids[..half], evgrid_ocpp::Version::V16),
                (&charger_ids[half..], evgrid_ocpp::Version::V201),
            ] {
                let options = simulate::charger_options(&csms, version, None, 30, 15, seed);
                simulate::start_chargers(ids, &options, &stopped);
            }
            eprintln!(
                "{} simulated OCPP chargers (half 1.6, half 2.0.1) connect to {csms}",
                charger_ids.len()
            );
        }
        match simulate::start_demo_superior(&poller_app, &poller_args.platform_operator_id, stopped.clone()).await {
            Ok(url) => eprintln!(
                "a simulated provincial supervision platform at {url} (refuses 5% of requests): the city is reported to it"
            ),
            Err(e) => tracing::error!(error = %e, "demo: starting the simulated superior"),
        }
        start_superiors(&poller_app, stopped.clone());
        if let Err(e) = start_poller(&poller_app, &poller_args, stopped) {
            tracing::error!(error = %e, "demo: starting the poller");
        }
    });
    let served = serve_app(app, &args, move |addr| {
        let _ = bound_tx.send(addr);
    })
    .await;
    let _ = stop.send(true);
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demos_chargers_have_identities_of_their_own() {
        let reference = crate::open::reference().expect("the embedded reference data");
        let network = evgrid_synth::generate(&reference, DEMO_SEED);
        let candidates: Vec<&Station> = demo_candidates(&network).collect();
        let piles = pick_demo_piles(&candidates, 200);
        assert!(piles.len() >= 200, "{} piles", piles.len());
        let ids: std::collections::HashSet<&str> =
            piles.iter().map(|(_, e)| e.id.as_str()).collect();
        assert_eq!(ids.len(), piles.len(), "no two chargers share an id");
        // The synthetic network does reuse pile ids across operators: the check is needed.
        let all: Vec<&str> = candidates
            .iter()
            .flat_map(|s| s.equipment.iter().map(|e| e.id.as_str()))
            .collect();
        let unique: std::collections::HashSet<&str> = all.iter().copied().collect();
        assert!(unique.len() < all.len());
    }
}
