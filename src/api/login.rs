//! The OAuth login flow of `facturare-etl auth login`: build the authorize
//! URL, receive the code (a loopback redirect listener on
//! `http://127.0.0.1:PORT/callback` that checks `state`, or a code pasted
//! by the person), and trade it for tokens.

use super::error::ApiError;
use super::oauth::{
    authorize_url, exchange_code, http_client, token_file_from, token_url, TokenFile,
};
use super::secret::Secret;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// What the login needs.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The OAuth host (`https://facturare.md`, or the API URL for a custom or local one).
    pub oauth_base: Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// `read` or `read_write`.
    pub scope: String,
    /// Listen on loopback for the redirect (else read the code from stdin).
    pub listener: bool,
    /// How long to wait for the redirect or the pasted code.
    pub timeout: Duration,
    /// Recorded in the token file.
    pub env_label: String,
}

/// Where the code arrives.
pub enum CodeSource {
    Listener(TcpListener),
    Paste,
}

/// A random `state` (CSRF guard): 128 bits, hex.
pub fn random_state() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The redirect URI pasted codes use (nothing listens there: the browser
/// shows an error page whose address holds the code).
pub const PASTE_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// Run the flow. `show_url` is called once with the authorize URL and the
/// redirect URI; `read_paste` returns the line the person pasted.
pub async fn login(
    opts: &LoginOptions,
    show_url: impl FnOnce(&Url, &str),
    read_paste: impl FnOnce() -> std::io::Result<String> + Send + 'static,
) -> Result<TokenFile, ApiError> {
    super::client::check_secure(&opts.oauth_base)?;
    let state = random_state();
    let source = if opts.listener {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            ApiError::Auth(format!(
                "could not listen on 127.0.0.1 for the OAuth redirect: {e}"
            ))
        })?;
        CodeSource::Listener(listener)
    } else {
        CodeSource::Paste
    };
    let redirect_uri = match &source {
        CodeSource::Listener(l) => {
            let port = l
                .local_addr()
                .map_err(|e| ApiError::Auth(format!("could not read the listener's port: {e}")))?
                .port();
            format!("http://127.0.0.1:{port}/callback")
        }
        CodeSource::Paste => PASTE_REDIRECT_URI.to_string(),
    };
    let url = authorize_url(
        &opts.oauth_base,
        &opts.client_id,
        &redirect_uri,
        &opts.scope,
        &state,
    )?;
    show_url(&url, &redirect_uri);
    let wait = async {
        match source {
            CodeSource::Listener(l) => wait_for_callback(l, &state).await,
            CodeSource::Paste => {
                let line = tokio::task::spawn_blocking(read_paste)
                    .await
                    .map_err(|e| ApiError::Auth(format!("could not read the code: {e}")))?
                    .map_err(|e| {
                        ApiError::Auth(format!("could not read the code from stdin: {e}"))
                    })?;
                code_from_paste(&line, &state)
            }
        }
    };
    let code = tokio::time::timeout(opts.timeout, wait)
        .await
        .map_err(|_| {
            ApiError::Auth(format!(
                "no authorization code arrived within {}s",
                opts.timeout.as_secs()
            ))
        })??;
    let token_url = token_url(&opts.oauth_base)?;
    let http = http_client()?;
    let resp = exchange_code(
        &http,
        &token_url,
        &code,
        &redirect_uri,
        &opts.client_id,
        &opts.client_secret,
    )
    .await?;
    let mut file = token_file_from(
        &resp,
        &token_url,
        &opts.client_id,
        &opts.client_secret,
        None,
        Some(opts.env_label.clone()),
    );
    if file.scope.is_none() {
        file.scope = Some(opts.scope.clone());
    }
    Ok(file)
}

/// A pasted line: the redirected URL (its `state` is checked) or the bare code.
pub fn code_from_paste(line: &str, expected_state: &str) -> Result<String, ApiError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(ApiError::Auth("no code was pasted".into()));
    }
    if line.contains("code=") {
        let query = match Url::parse(line) {
            Ok(u) => u.query().unwrap_or_default().to_string(),
            Err(_) => line.trim_start_matches('?').to_string(),
        };
        return code_from_query(&query, expected_state);
    }
    if line.chars().any(char::is_whitespace) {
        return Err(ApiError::Auth(
            "the pasted text is neither a code nor the redirected URL".into(),
        ));
    }
    Ok(line.to_string())
}

/// `code` from a redirect's query, checking `state` and reporting `error`.
pub fn code_from_query(query: &str, expected_state: &str) -> Result<String, ApiError> {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(e) = error {
        return Err(ApiError::Auth(format!(
            "the authorization was refused: {e}{}",
            description.map(|d| format!(" ({d})")).unwrap_or_default()
        )));
    }
    if state.as_deref() != Some(expected_state) {
        return Err(ApiError::Auth(
            "the redirect's `state` does not match this login (a stale or forged redirect): try again".into(),
        ));
    }
    code.filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::Auth("the redirect carries no `code`".into()))
}

async fn reply(stream: &mut tokio::net::TcpStream, status: &str, text: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Serve `GET /callback?code=..&state=..` once; other paths get 404.
async fn wait_for_callback(
    listener: TcpListener,
    expected_state: &str,
) -> Result<String, ApiError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| ApiError::Auth(format!("the redirect listener failed: {e}")))?;
        let mut buf = Vec::with_capacity(2048);
        let mut chunk = [0u8; 2048];
        let head_complete = loop {
            match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break false,
                Ok(Ok(n)) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break true;
                    }
                    if buf.len() > 16 * 1024 {
                        break false;
                    }
                }
            }
        };
        if !head_complete {
            continue;
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|l| {
                let mut parts = l.split_whitespace();
                match (parts.next(), parts.next()) {
                    (Some("GET"), Some(t)) => Some(t.to_string()),
                    _ => None,
                }
            })
            .unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        if path != "/callback" {
            reply(&mut stream, "404 Not Found", "not found").await;
            continue;
        }
        match code_from_query(query, expected_state) {
            Ok(code) => {
                reply(
                    &mut stream,
                    "200 OK",
                    "facturare-etl: logged in. You can close this window.",
                )
                .await;
                return Ok(code);
            }
            Err(e) => {
                reply(
                    &mut stream,
                    "400 Bad Request",
                    &format!("facturare-etl: {e}"),
                )
                .await;
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_checks_state() {
        assert_eq!(code_from_query("code=abc&state=s1", "s1").unwrap(), "abc");
        assert!(code_from_query("code=abc&state=other", "s1").is_err());
        assert!(code_from_query("code=abc", "s1").is_err());
        let e = code_from_query("error=access_denied&state=s1", "s1").unwrap_err();
        assert!(e.to_string().contains("access_denied"));
        assert_eq!(
            code_from_paste("http://127.0.0.1/callback?code=xyz&state=s1\n", "s1").unwrap(),
            "xyz"
        );
        assert_eq!(code_from_paste("  xyz \n", "s1").unwrap(), "xyz");
        assert!(code_from_paste("\n", "s1").is_err());
    }

    #[test]
    fn states_are_random() {
        assert_ne!(random_state(), random_state());
        assert_eq!(random_state().len(), 32);
    }
}
