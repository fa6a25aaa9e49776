//! `evgrid user`: accounts of operators, regulators and admins (drivers register themselves).
//! A password comes from `--password` or `EVGRID_USER_PASSWORD`; without one a random password
//! is made and shown once.

use anyhow::{bail, Result};
use clap::Subcommand;
use evgrid_model::{OperatorId, Role};

/// What to do with users.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user with a role: operator (with --operator-id), regulator or admin.
    Add {
        #[arg(long)]
        username: String,
        /// operator, regulator, admin (or driver).
        #[arg(long)]
        role: String,
        /// The operator an operator user acts for.
        #[arg(long)]
        operator_id: Option<String>,
        /// 10-128 characters; a random one is made and printed when absent.
        #[arg(long, env = "EVGRID_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Set a user's password (ends the user's sessions).
    Passwd {
        #[arg(long)]
        username: String,
        #[arg(long, env = "EVGRID_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// List users (never passwords).
    List {
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
    /// Remove a user and the user's sessions.
    Remove {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        store: crate::open::StoreArgs,
    },
}

/// A random password of 20 characters (letters and digits).
pub fn random_password() -> Result<String> {
    crate::operator::random_text(20)
}

/// Runs the command.
pub async fn run(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            operator_id,
            password,
            store,
        } => {
            let Some(role) = Role::from_name(&role) else {
                bail!("--role {role:?} is not driver, operator, regulator or admin");
            };
            let operator = operator_id.as_deref().map(OperatorId::new).transpose()?;
            let (password, made) = match password {
                Some(p) => (p, false),
                None => (random_password()?, true),
            };
            let app = crate::open::open_app(&store).await?;
            let user = app
                .accounts()
                .add_user(&username, &password, role, operator.as_ref())
                .await?;
            crate::audit::write(&app, "user.add", &user.username, user.role.name()).await?;
            println!("added {} ({})", user.username, user.role);
            if made {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        UserCommand::Passwd {
            username,
            password,
            store,
        } => {
            let (password, made) = match password {
                Some(p) => (p, false),
                None => (random_password()?, true),
            };
            let app = crate::open::open_app(&store).await?;
            if !app.accounts().set_password(&username, &password).await? {
                bail!("no user {username:?}");
            }
            crate::audit::write(&app, "user.password", &username, "set").await?;
            println!("password of {username} set; its sessions ended");
            if made {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        UserCommand::List { store } => {
            let app = crate::open::open_app(&store).await?;
            for u in app.accounts().users().await? {
                let op = u
                    .operator_id
                    .as_ref()
                    .map_or(String::new(), |o| format!(" for {o}"));
                println!("{}\t{}{op}", u.username, u.role);
            }
            Ok(())
        }
        UserCommand::Remove { username, store } => {
            let app = crate::open::open_app(&store).await?;
            if !app.accounts().remove_user(&username).await? {
                bail!("no user {username:?}");
            }
            crate::audit::write(&app, "user.remove", &username, "").await?;
            println!("removed {username}");
            Ok(())
        }
    }
}
