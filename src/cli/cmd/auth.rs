//! `facturare-etl auth login|status|logout`: OAuth tokens for the company
//! (profile) in use, stored in `<data-dir>/tokens.json` with mode 0600.
//! Nothing here ever prints a key or a token.

use super::{config_error, Context};
use crate::api::login::{login, LoginOptions};
use crate::api::TokenFile;
use crate::cli::output::Output;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::config::{self, ConfigError, CredentialSource, Environment, OAuthFlags, Settings};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Log in with OAuth (authorization code) and store the tokens (mode 0600)
    Login(LoginArgs),
    /// Show the environment, company and credentials in use (never a secret)
    Status,
    /// Forget the stored OAuth tokens of this company
    Logout,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// OAuth client id [default: from the config file; `facturare-etl` on loopback]
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// File holding the OAuth client secret [default: from the config file]
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Access requested: read or read_write
    #[arg(long, value_name = "SCOPE", value_parser = ["read", "read_write"])]
    pub scope: Option<String>,
    /// Do not listen for the redirect: paste the code (or the redirected URL) on stdin
    #[arg(long)]
    pub no_browser_listener: bool,
    /// How long to wait for the code, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
}

pub fn run(command: Command, ctx: &Context) -> CmdResult {
    match command {
        Command::Login(args) => run_login(args, ctx),
        Command::Status => run_status(ctx),
        Command::Logout => run_logout(ctx),
    }
}

fn run_login(args: LoginArgs, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    let loc = ctx.location()?;
    let client = loc
        .oauth_client(&OAuthFlags {
            client_id: args.client_id.clone(),
            client_secret_file: args.client_secret_file.clone(),
            scope: args.scope.clone(),
        })
        .map_err(config_error)?;
    let opts = LoginOptions {
        oauth_base: client.oauth_base,
        client_id: client.client_id,
        client_secret: client.client_secret,
        scope: client.scope,
        listener: !args.no_browser_listener,
        timeout: Duration::from_secs(args.timeout.max(1)),
        env_label: client.env_label,
    };
    let listener = opts.listener;
    let rt = crate::ops::runtime(2).map_err(|e| {
        CliError::new(
            Exit::Api,
            anyhow::anyhow!("could not start the async runtime: {e}"),
        )
    })?;
    let file = rt
        .block_on(login(
            &opts,
            |url, redirect| {
                // The URL is what the person needs even when --quiet.
                eprintln!("Open this URL in a browser to log in:\n\n  {url}\n");
                if listener {
                    eprintln!("Waiting for the redirect to {redirect} ...");
                } else {
                    eprintln!("After approving, paste the code (or the whole address you were redirected to) here:");
                }
            },
            || {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Ok(line)
            },
        ))
        .map_err(|e| {
            let exit = if e.is_rejection() || e.is_auth() { Exit::Usage } else { Exit::Api };
            CliError::new(exit, e)
        })?;
    let path = loc.tokens_path();
    crate::fs::create_dir_all(&loc.data_dir).exit(Exit::Usage)?;
    file.write(&path).exit(Exit::Usage)?;
    out.status(format!(
        "logged in to {}{}; tokens stored in {} ({})",
        loc.environment.label(),
        loc.profile
            .as_deref()
            .map(|p| format!(" as profile `{p}`"))
            .unwrap_or_default(),
        path.display(),
        expiry_text(file.expires_at),
    ));
    out.json(&serde_json::json!({
        "env": loc.environment.label(),
        "profile": loc.profile,
        "tokens_file": path,
        "expires_at": file.expires_at,
        "scope": file.scope,
    }));
    Ok(Exit::Ok)
}

fn expiry_text(expires_at: Option<i64>) -> String {
    match expires_at.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
        Some(at) => {
            let left = at.timestamp() - chrono::Utc::now().timestamp();
            let when = at.format("%Y-%m-%d %H:%M:%S UTC");
            if left > 0 {
                format!("access token expires {when}, in {}m", left / 60)
            } else {
                format!("access token expired {when}")
            }
        }
        None => "access token expiry unknown".to_string(),
    }
}

fn run_status(ctx: &Context) -> CmdResult {
    let out: &Output = &ctx.out;
    let (env, data_dir, profile, config_path, source): (
        Environment,
        PathBuf,
        Option<String>,
        Option<PathBuf>,
        Option<CredentialSource>,
    ) = match Settings::resolve(&ctx.request) {
        Ok(s) => (
            s.environment,
            s.data_dir,
            s.profile,
            s.config_path,
            Some(s.credential_source),
        ),
        Err(ConfigError::NoCredentials { .. }) => {
            let loc = ctx.location()?;
            (
                loc.environment,
                loc.data_dir,
                loc.profile,
                loc.config_path,
                None,
            )
        }
        Err(e) => return Err(config_error(e)),
    };
    let url = env.api_url().map(|u| u.to_string());
    let mut lines = vec![format!(
        "environment: {}{}",
        env.label(),
        match (&env, &url) {
            (Environment::Local, _) => " (the emulator inside this process)".to_string(),
            (Environment::Url(_), _) | (_, None) => String::new(),
            (_, Some(u)) => format!(" ({u})"),
        }
    )];
    lines.push(format!(
        "profile: {} (data in {})",
        profile.as_deref().unwrap_or("(default)"),
        data_dir.display()
    ));
    lines.push(format!(
        "config file: {}",
        config_path
            .as_ref()
            .map_or("(none)".to_string(), |p| p.display().to_string())
    ));
    let mut token_json = serde_json::Value::Null;
    match &source {
        None => lines.push("credentials: none configured".to_string()),
        Some(CredentialSource::Tokens(path)) => {
            lines.push(format!("credentials: OAuth tokens in {}", path.display()));
            if let Ok(t) = TokenFile::read(path) {
                lines.push(format!("  {}", expiry_text(t.expires_at)));
                lines.push(format!(
                    "  refresh token: {}",
                    if t.refresh_token.is_some() {
                        "stored"
                    } else {
                        "none"
                    }
                ));
                if let Some(scope) = &t.scope {
                    lines.push(format!("  scope: {scope}"));
                }
                if let Some(e) = &t.env {
                    if *e != env.label() {
                        lines.push(format!("  warning: these tokens were issued for {e}"));
                    }
                }
                token_json = serde_json::json!({
                    "expires_at": t.expires_at,
                    "refresh_token": t.refresh_token.is_some(),
                    "scope": t.scope,
                    "env": t.env,
                });
            }
        }
        Some(s) => lines.push(format!("credentials: {s}")),
    }
    let tokens = data_dir.join(config::TOKENS_FILE);
    if !matches!(source, Some(CredentialSource::Tokens(_))) && tokens.exists() {
        lines.push(format!(
            "stored OAuth tokens: {} (not used: a key takes precedence)",
            tokens.display()
        ));
    }
    if !out.json {
        for l in &lines {
            println!("{l}");
        }
    }
    out.json(&serde_json::json!({
        "env": env.label(),
        "api_url": url,
        "profile": profile,
        "data_dir": data_dir,
        "config_file": config_path,
        "credentials": source.as_ref().map(|s| s.to_string()),
        "tokens": token_json,
    }));
    Ok(Exit::Ok)
}

fn run_logout(ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    let loc = ctx.location()?;
    let path = loc.tokens_path();
    let removed = match std::fs::remove_file(&path) {
        Ok(()) => {
            out.status(format!("logged out: removed {}", path.display()));
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.status(format!(
                "no stored tokens ({} does not exist)",
                path.display()
            ));
            false
        }
        Err(e) => {
            return Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("failed to remove {}: {e}", path.display()),
            ))
        }
    };
    out.json(&serde_json::json!({ "tokens_file": path, "removed": removed }));
    Ok(Exit::Ok)
}
