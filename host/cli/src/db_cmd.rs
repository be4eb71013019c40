//! `weft db migrate | status`: the PostgreSQL schema, from the command
//! line.
//!
//! `weft serve` migrates at start, so most operators never run these. They
//! are for the moments a start is the wrong place: migrating once before a
//! rolling upgrade of several hosts, checking from a deploy script that a
//! database is not ahead of the build about to run on it. The database
//! comes from `--database-url` or `WEFT_DATABASE_URL`, as for `serve`.

use crate::api_client::{REFUSED, UNREACHABLE};
use crate::exit::{Failure, OK, USAGE};
use clap::{Args, Subcommand};
use serde_json::json;
use weft_pg::migrate::{MIGRATIONS, current_version, latest_version};
use weft_pg::{Database, PgError, PgSettings};

#[derive(Args)]
#[command(
    long_about = "Manage the PostgreSQL schema several `weft serve` hosts share.\n\n\
        `weft serve` applies pending migrations itself when it starts; run `weft db migrate` \
        yourself before upgrading several hosts (one migration, then the new builds), and \
        `weft db status` from deploy scripts to check a database is not newer than the \
        build about to use it.",
    after_help = "Examples:\n  \
        export WEFT_DATABASE_URL=postgres://weft:PASSWORD@db.internal:5432/weft\n  \
        weft db status\n  \
        weft db migrate --json\n  \
        weft db --database-url postgres://weft@127.0.0.1/weft status\n\n\
        Exit codes: 0 success · 2 no database URL, or one that does not parse · 5 the \
        database's schema is newer than this build · 6 the database could not be reached \
        or a statement failed"
)]
pub struct DbArgs {
    /// The PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
    /// Prefer the environment variable, which keeps a password out of
    /// shell history.
    #[arg(
        long,
        global = true,
        env = "WEFT_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: Option<String>,

    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the migrations this build knows and the database has not had
    /// yet, each in its own transaction (safe to run from several hosts
    /// at once: they take turns). Prints the version before and after and
    /// what was applied. Refuses a database migrated by a newer build.
    Migrate,
    /// Print the database's schema version and this build's, and the
    /// migrations still pending. Changes nothing. Exits 5 when the
    /// database is newer than this build (this build must not run on it).
    Status,
}

pub fn run(args: DbArgs, json: bool) -> Result<u8, Failure> {
    let url = args.database_url.ok_or_else(|| {
        Failure::new(USAGE, "no database URL given").hint(
            "pass --database-url postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE \
             or set WEFT_DATABASE_URL",
        )
    })?;
    let db = Database::connect(
        &url,
        &PgSettings {
            pool_size: 1,
            ..PgSettings::default()
        },
    )
    .map_err(failure)?;
    match args.command {
        DbCommand::Migrate => migrate(&db, json),
        DbCommand::Status => status(&db, json),
    }
}

fn failure(e: PgError) -> Failure {
    let code = match e {
        PgError::Url(_) => USAGE,
        PgError::SchemaNewer { .. } => REFUSED,
        PgError::Unreachable { .. } | PgError::Query(_) | PgError::Stopped => UNREACHABLE,
    };
    Failure::new(code, e.to_string())
}

fn migrate(db: &Database, json: bool) -> Result<u8, Failure> {
    let done = weft_pg::migrate(db).map_err(failure)?;
    if json {
        println!(
            "{}",
            json!({
                "database": db.target(),
                "from": done.from,
                "to": done.to,
                "applied": done.applied,
            })
        );
    } else if done.applied.is_empty() {
        println!(
            "{}: schema version {}, up to date; nothing to apply",
            db.target(),
            done.to
        );
    } else {
        println!(
            "{}: schema version {} → {}; applied:",
            db.target(),
            done.from,
            done.to
        );
        for m in &done.applied {
            println!("  {m}");
        }
    }
    Ok(OK)
}

fn status(db: &Database, json: bool) -> Result<u8, Failure> {
    let version = current_version(db).map_err(failure)?;
    let build = latest_version();
    let pending: Vec<String> = MIGRATIONS
        .iter()
        .filter(|m| m.version > version)
        .map(|m| format!("{} {}", m.version, m.name))
        .collect();
    let state = if version > build {
        State::Newer
    } else if pending.is_empty() {
        State::UpToDate
    } else {
        State::Pending
    };
    if json {
        println!(
            "{}",
            json!({
                "database": db.target(),
                "version": version,
                "build_version": build,
                "state": state.name(),
                "pending": pending,
            })
        );
    } else {
        println!("database:      {}", db.target());
        println!("schema:        version {version}");
        println!("this build:    version {build}");
        match state {
            State::Newer => println!(
                "state:         the database is NEWER than this build: do not run this weft on it; \
                 run the weft that migrated it (or a newer one)"
            ),
            State::UpToDate => println!("state:         up to date"),
            State::Pending => {
                println!(
                    "state:         {} pending; run `weft db migrate` (or start `weft serve`)",
                    pending.len()
                );
                for m in &pending {
                    println!("  {m}");
                }
            }
        }
    }
    Ok(match state {
        State::Newer => REFUSED,
        State::UpToDate | State::Pending => OK,
    })
}

/// Where the database's schema stands against this build's.
#[derive(Clone, Copy)]
enum State {
    UpToDate,
    /// Behind: migrations this build knows are not applied yet.
    Pending,
    /// Migrated by a newer build: this one must not run on it.
    Newer,
}

impl State {
    /// As `--json` prints it.
    fn name(self) -> &'static str {
        match self {
            State::UpToDate => "up-to-date",
            State::Pending => "pending",
            State::Newer => "newer-than-this-build",
        }
    }
}
