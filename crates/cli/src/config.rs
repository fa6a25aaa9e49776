//! A node's configuration file: `evgrid serve --config evgrid.toml` (or `EVGRID_CONFIG`). Its
//! keys are the long options of `serve` (`listen = "127.0.0.1:8080"`, `database = "postgres://…"`,
//! `poll_interval = 300`, `accept_unknown_chargers = true`), so a file and a command line say
//! the same things the same way. Precedence: the command line, then the option's environment
//! variable, then the file, then the default. `evgrid config example` prints every key with its
//! default and help; `evgrid config check FILE` reads a file as `serve` would and says what is
//! wrong, one line per problem.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

/// `evgrid config …`.
#[derive(clap::Subcommand, Debug)]
pub enum ConfigCommand {
    /// Read a configuration file as `serve --config FILE` would; print the settings it gives or
    /// every problem (exit status 1).
    Check { file: PathBuf },
    /// Print a configuration file with every key, its default and what it does.
    Example,
}

/// The `serve` command's definition (the keys a file may hold).
fn serve_command() -> clap::Command {
    crate::Cli::command()
        .find_subcommand("serve")
        .cloned()
        .unwrap_or_else(|| clap::Command::new("serve"))
}

/// The options a file may set: (key, the option's long name, its environment variable, whether
/// it takes a value).
fn options() -> Vec<(String, String, Option<String>, bool)> {
    serve_command()
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            if long == "config" || long == "help" {
                return None;
            }
            let env = a.get_env().map(|e| e.to_string_lossy().into_owned());
            let takes_value = a.get_action().takes_values();
            Some((long.replace('-', "_"), long.to_owned(), env, takes_value))
        })
        .collect()
}

/// The command-line arguments a file stands for, leaving out what `given` (the command line)
/// or the environment sets already; every problem of the file in the error, one a line.
fn file_args(file: &Path, given: &[OsString]) -> Result<Vec<OsString>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the configuration {}", file.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not TOML: {}", file.display(), e.message()))?;
    let options = options();
    let mut args = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in &table {
        let Some((_, long, env, takes_value)) = options.iter().find(|(k, ..)| k == key) else {
            problems.push(format!(
                "unknown key `{key}` (`evgrid config example` lists the keys)"
            ));
            continue;
        };
        let flag = format!("--{long}");
        let on_command_line = given.iter().any(|a| {
            let a = a.to_string_lossy();
            a == flag || a.starts_with(&format!("{flag}="))
        });
        let in_environment = env.as_ref().is_some_and(|e| std::env::var_os(e).is_some());
        if on_command_line || in_environment {
            continue;
        }
        match (value, takes_value) {
            (toml::Value::Boolean(true), false) => args.push(flag.into()),
            (toml::Value::Boolean(false), false) => {}
            (_, false) => problems.push(format!("`{key}` is a switch: true or false")),
            (toml::Value::String(s), true) => {
                args.push(flag.into());
                args.push(s.into());
            }
            (toml::Value::Integer(n), true) => {
                args.push(flag.into());
                args.push(n.to_string().into());
            }
            (toml::Value::Float(x), true) => {
                args.push(flag.into());
                args.push(x.to_string().into());
            }
            (toml::Value::Boolean(b), true) => {
                args.push(flag.into());
                args.push(b.to_string().into());
            }
            (other, true) => problems.push(format!(
                "`{key}` takes one value, not a {}",
                other.type_str()
            )),
        }
    }
    if !problems.is_empty() {
        bail!("{}: {}", file.display(), problems.join("; "));
    }
    Ok(args)
}

/// The arguments with `serve`'s or `demo`'s `--config FILE` (or `EVGRID_CONFIG`) expanded: the
/// file's settings are added after the subcommand, the command line's own kept as they are.
pub fn expand(args: Vec<OsString>) -> Result<Vec<OsString>> {
    let Some(at) = args
        .iter()
        .position(|a| a == "serve" || a == "demo")
        .filter(|at| *at == 1)
    else {
        return Ok(args);
    };
    let mut file: Option<PathBuf> = None;
    for (i, a) in args.iter().enumerate().skip(at + 1) {
        let text = a.to_string_lossy();
        if text == "--config" {
            file = args.get(i + 1).map(PathBuf::from);
        } else if let Some(path) = text.strip_prefix("--config=") {
            file = Some(PathBuf::from(path));
        }
    }
    let Some(file) = file.or_else(|| std::env::var_os("EVGRID_CONFIG").map(PathBuf::from)) else {
        return Ok(args);
    };
    let extra = file_args(&file, &args[at + 1..])?;
    let mut out = args[..=at].to_vec();
    out.extend(extra);
    out.extend(args[at + 1..].iter().cloned());
    Ok(out)
}

/// Runs `evgrid config …`.
pub fn run(command: ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Example => {
            print!("{}", example());
            Ok(())
        }
        ConfigCommand::Check { file } => {
            let args = file_args(&file, &[])?;
            let mut all: Vec<OsString> = vec!["evgrid".into(), "serve".into()];
            all.extend(args.iter().cloned());
            <crate::Cli as clap::Parser>::try_parse_from(&all).map_err(|e| {
                anyhow::anyhow!("{}: {}", file.display(), first_line(&e.to_string()))
            })?;
            println!("{}: ok", file.display());
            let shown: Vec<String> = args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            println!("serve {}", shown.join(" "));
            Ok(())
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(text)
        .trim_start_matches("error: ")
        .to_owned()
}

/// A configuration file with every key commented out at its default, under its help.
pub fn example() -> String {
    let command = serve_command();
    let mut out = String::from(
        "# evgrid serve --config evgrid.toml: every key is a long option of `evgrid serve`.\n\
         # The command line wins over an option's environment variable, which wins over this file.\n",
    );
    for a in command.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if long == "config" || long == "help" {
            continue;
        }
        let key = long.replace('-', "_");
        out.push('\n');
        if let Some(help) = a.get_help() {
            for line in help.to_string().lines() {
                out.push_str(&format!("# {line}\n"));
            }
        }
        if let Some(env) = a.get_env() {
            out.push_str(&format!("# (environment: {})\n", env.to_string_lossy()));
        }
        let default = a
            .get_default_values()
            .first()
            .map(|v| v.to_string_lossy().into_owned());
        let shown = match (a.get_action().takes_values(), default) {
            (false, _) => "false".to_owned(),
            (true, Some(d)) if d.parse::<f64>().is_ok() => d,
            (true, Some(d)) => format!("{d:?}"),
            (true, None) => "\"\"  # no default".to_owned(),
        };
        out.push_str(&format!("# {key} = {shown}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("evgrid.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_file_becomes_options_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "listen = \"127.0.0.1:9090\"\npoll_interval = 60\naccept_unknown_chargers = true\n",
        );
        let args: Vec<OsString> = [
            "evgrid",
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--poll-interval",
            "5",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let expanded: Vec<String> = expand(args)
            .unwrap()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(
            expanded
                .windows(2)
                .any(|w| w == ["--listen", "127.0.0.1:9090"]),
            "{expanded:?}"
        );
        assert!(expanded.contains(&"--accept-unknown-chargers".to_owned()));
        assert_eq!(
            expanded.iter().filter(|a| *a == "--poll-interval").count(),
            1,
            "{expanded:?}"
        );
        assert!(expanded.windows(2).any(|w| w == ["--poll-interval", "5"]));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_all_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "lisen = \"x\"\naccept_unknown_chargers = 3\nlisten = [1]\n",
        );
        let e = file_args(&file, &[]).unwrap_err().to_string();
        assert!(e.contains("unknown key `lisen`"), "{e}");
        assert!(e.contains("`accept_unknown_chargers` is a switch"), "{e}");
        assert!(e.contains("`listen` takes one value"), "{e}");
        let bad = write(dir.path(), "listen = ");
        assert!(file_args(&bad, &[])
            .unwrap_err()
            .to_string()
            .contains("not TOML"));
    }

    #[test]
    fn the_example_lists_every_option_with_its_default() {
        let text = example();
        assert!(text.contains("# listen = \"127.0.0.1:8080\""), "{text}");
        assert!(text.contains("# poll_interval = 300"), "{text}");
        assert!(text.contains("# database = "), "{text}");
        // Every key of the example is one a file may hold.
        let keys: Vec<String> = options().into_iter().map(|o| o.0).collect();
        for line in text
            .lines()
            .filter(|l| l.starts_with("# ") && l.contains(" = "))
        {
            let key = line[2..].split(" = ").next().unwrap();
            assert!(keys.iter().any(|k| k == key), "{key}");
        }
    }
}
