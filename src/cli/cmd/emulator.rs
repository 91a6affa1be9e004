//! `facturare-etl emulator`: serve the local facturare.md on a port until
//! Ctrl-C. Thin: parse the flags into an [`emulator::Config`], bind, serve.

use super::Context;
use crate::cli::values::parse_rate;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::emulator::{self, Config, KeySpec, OAuthClient};
use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

/// Serve the local emulator of the facturare.md API.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  facturare-etl emulator --key demo
  facturare-etl emulator --db emu.db --key k1=acme --key k2=globex
  facturare-etl emulator --key demo --rate 5/s --retry-after 1 --fail-rate 0.1 --seed 7
  facturare-etl emulator --key demo --oauth-client my-app:s3cret:https://my-app.example/callback

Without --key, a key is generated and printed once on stderr.
GET /_emulator/stats (no auth) returns the request counters as JSON.")]
pub struct Args {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// SQLite file for the data (survives restarts) [default: in memory]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// An API key, its own company unless written KEY=COMPANY (repeatable)
    #[arg(long = "key", value_name = "KEY[=COMPANY]", value_parser = parse_key)]
    pub keys: Vec<KeySpec>,
    /// Requests in flight per key before 429
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = parse_positive)]
    pub max_in_flight: usize,
    /// Requests per second per key before 429 (`10/s` or `10`)
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<u32>,
    /// Send `Retry-After: SECS` with every 429
    #[arg(long, value_name = "SECS")]
    pub retry_after: Option<u64>,
    /// Probability (0 to 1) of answering 500 before doing anything
    #[arg(long, value_name = "P", default_value = "0", value_parser = parse_probability)]
    pub fail_rate: f64,
    /// Probability (0 to 1) of doing the work, then closing the connection unanswered
    #[arg(long, value_name = "P", default_value = "0", value_parser = parse_probability)]
    pub drop_rate: f64,
    /// Milliseconds added to every API request
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// Seed for the fault dice
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// OAuth access token lifetime in seconds
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub token_ttl: u64,
    /// An OAuth client and the redirect URIs its codes may go to (repeatable;
    /// with no URI, loopback ones only) [default: facturare-etl:local-secret]
    #[arg(long = "oauth-client", value_name = "ID:SECRET[:URI...]", value_parser = parse_client)]
    pub oauth_clients: Vec<OAuthClient>,
}

fn parse_key(s: &str) -> Result<KeySpec, String> {
    s.parse::<KeySpec>().map_err(|e| e.to_string())
}

fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a whole number of at least 1, found {s:?}"
        )),
    }
}

/// A probability in `0..=1`.
pub fn parse_probability(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a probability from 0 to 1, found {s:?}")),
    }
}

fn parse_client(s: &str) -> Result<OAuthClient, String> {
    s.parse()
}

fn generated_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("local_{}", hex::encode(bytes))
}

pub fn run(args: Args, ctx: &Context) -> CmdResult {
    let out = ctx.out.clone();
    let mut keys = args.keys;
    if keys.is_empty() {
        let key = generated_key();
        // The one place a key is printed: the user's own, new key.
        eprintln!("generated API key: {key} (company: local)");
        keys.push(KeySpec::new(key, "local"));
    }
    let config = Config {
        keys,
        db: args.db,
        max_in_flight: args.max_in_flight,
        rate_per_sec: args.rate,
        retry_after: args.retry_after,
        fail_rate: args.fail_rate,
        drop_rate: args.drop_rate,
        latency: Duration::from_millis(args.latency),
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl),
        oauth_clients: if args.oauth_clients.is_empty() {
            Config::default().oauth_clients
        } else {
            args.oauth_clients
        },
    };
    let companies: Vec<String> = {
        let mut c: Vec<String> = Vec::new();
        for k in &config.keys {
            if !c.contains(&k.company) {
                c.push(k.company.clone());
            }
        }
        c
    };
    let rt = tokio::runtime::Runtime::new()
        .context("failed to start the async runtime")
        .exit(Exit::Usage)?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("failed to listen on {}", args.listen))
            .map_err(|e| {
                CliError::new(Exit::Usage, e)
                    .with_hint("pick another port with --listen 127.0.0.1:PORT")
            })?;
        let addr = listener.local_addr().exit(Exit::Usage)?;
        let url = format!("http://{addr}");
        out.status(format!(
            "emulator listening on {url} (companies: {}; data: {})",
            companies.join(", "),
            config
                .db
                .as_ref()
                .map_or("in memory".to_string(), |p| p.display().to_string())
        ));
        out.json(&serde_json::json!({ "url": url, "companies": companies }));
        emulator::serve(listener, config, shutdown_signal())
            .await
            .exit(Exit::Api)?;
        out.status("emulator stopped");
        Ok(Exit::Ok)
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flag_values() {
        assert_eq!(parse_probability("0.25"), Ok(0.25));
        assert!(parse_probability("1.5").is_err());
        assert_eq!(
            parse_client("id:secret"),
            Ok(OAuthClient::new("id", "secret"))
        );
        assert!(parse_client("id").is_err());
    }
}
