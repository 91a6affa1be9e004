//! The routes and the request pipeline: count, authenticate, admit (429),
//! delay, maybe fail (500), replay an `Idempotency-Key`, do the work, maybe
//! drop the connection. Errors are [`ErrorReply`]s (`reply`); the listener
//! that cuts dropped connections is in `faults`.

use super::auth::{self, Code, Principal};
use super::faults::{ConnKill, Faults, KillListener, Limiter};
use super::list::{self, ListParams};
use super::reply::{json_list, json_response, text_response, ErrorReply};
use super::resources::{self, Ctx, Kind};
use super::store::{IdemReply, Obj, Store};
use super::{Config, Stats};
use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How long a first reply to an `Idempotency-Key` is replayed.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

const MAX_BODY: usize = 16 * 1024 * 1024;

/// The shared state behind every route.
pub struct AppState {
    pub config: Config,
    /// key → company.
    pub keys: HashMap<String, String>,
    pub store: Store,
    pub codes: Mutex<HashMap<String, Code>>,
    limiter: Arc<Limiter>,
    faults: Faults,
    requests: AtomicU64,
    writes: AtomicU64,
    rate_limited: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    created: Mutex<BTreeMap<String, u64>>,
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl AppState {
    /// Check the config and open the store.
    pub async fn open(config: Config) -> anyhow::Result<Arc<AppState>> {
        for (name, p) in [
            ("fail rate", config.fail_rate),
            ("drop rate", config.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                anyhow::bail!("the {name} must be between 0 and 1, found {p}");
            }
        }
        let db = config.db.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(db.as_deref(), now()))
            .await
            .map_err(|e| anyhow::anyhow!("the database thread failed: {e}"))??;
        let keys = config
            .keys
            .iter()
            .map(|k| (k.key.clone(), k.company.clone()))
            .collect();
        Ok(Arc::new(AppState {
            limiter: Arc::new(Limiter::new(config.max_in_flight, config.rate_per_sec)),
            faults: Faults::new(config.seed, config.fail_rate, config.drop_rate),
            keys,
            store,
            codes: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            created: Mutex::new(BTreeMap::new()),
            config,
        }))
    }

    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            max_per_second: self.limiter.max_per_second(),
            created: self
                .created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Flush and close the database file.
    pub async fn close(self: &Arc<Self>) {
        let st = self.clone();
        let _ = tokio::task::spawn_blocking(move || st.store.close()).await;
    }
}

/// The routes over `state` (serve them with [`ConnKill`] connect info to
/// make drops close the connection; without it a drop is a plain reply).
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/{resource}", get(list_route).post(create_route))
        .route(
            "/{resource}/{id}",
            get(get_route).patch(update_route).delete(delete_route),
        )
        .route("/{resource}/{id}/void", post(void_route))
        .route_layer(middleware::from_fn_with_state(state.clone(), pipeline));
    Router::new()
        .route("/oauth/authorize", get(authorize_route))
        .route("/oauth/access_token", post(token_route))
        .route("/_emulator/stats", get(stats_route))
        .merge(api)
        .fallback(|method: Method, uri: axum::http::Uri| async move {
            ErrorReply::not_found(format!("No such route: {method} {}", uri.path()))
        })
        .method_not_allowed_fallback(|method: Method, uri: axum::http::Uri| async move {
            ErrorReply::method(format!("{method} is not allowed on {}", uri.path()))
        })
        .with_state(state)
}

async fn pipeline(State(st): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    st.requests.fetch_add(1, Ordering::Relaxed);
    if matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE) {
        st.writes.fetch_add(1, Ordering::Relaxed);
    }
    let now = now();
    let principal = match auth::authenticate(&st, req.headers(), now) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let Some(_permit) = st.limiter.acquire(&principal.credential) else {
        st.rate_limited.fetch_add(1, Ordering::Relaxed);
        return ErrorReply::rate_limited(st.config.retry_after).into_response();
    };
    if !st.config.latency.is_zero() {
        tokio::time::sleep(st.config.latency).await;
    }
    let roll = st.faults.roll();
    if roll.fail {
        st.failed.fetch_add(1, Ordering::Relaxed);
        return ErrorReply::internal("Injected failure: nothing was done").into_response();
    }
    let idem = if matches!(*req.method(), Method::POST | Method::PATCH) {
        match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => {
                let k = v.to_str().unwrap_or("").to_string();
                let n = k.chars().count();
                let (min, max) = (
                    crate::model::limits::IDEMPOTENCY_KEY_MIN,
                    crate::model::limits::IDEMPOTENCY_KEY_MAX,
                );
                if n < min || n > max {
                    return ErrorReply::param(
                        format!("Invalid Idempotency-Key: expected {min} to {max} characters, found {n}"),
                        "Idempotency-Key",
                    )
                    .into_response();
                }
                Some(k)
            }
        }
    } else {
        None
    };
    let kill = req
        .extensions()
        .get::<ConnectInfo<ConnKill>>()
        .map(|c| c.0.clone());
    if let Some(k) = &idem {
        let hit = {
            let data = st.store.lock();
            data.idem
                .get(&(principal.company.clone(), k.clone()))
                .filter(|r| now - r.at < IDEMPOTENCY_TTL_SECS)
                .cloned()
        };
        if let Some(r) = hit {
            let mut resp = Response::new(Body::from(r.body));
            *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert("idempotent-replayed", HeaderValue::from_static("true"));
            return finish_drop(&st, roll.drop, kill, resp);
        }
    }
    let company = principal.company.clone();
    req.extensions_mut().insert(principal);
    let resp = next.run(req).await;
    let resp = match idem {
        Some(k) if !resp.status().is_server_error() => {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .unwrap_or_default();
            let reply = IdemReply {
                at: now,
                status: parts.status.as_u16(),
                body: bytes.clone(),
            };
            let ((), commit) = st.store.write(|d| d.put_idem(&company, &k, reply));
            commit.wait().await;
            Response::from_parts(parts, Body::from(bytes))
        }
        _ => resp,
    };
    finish_drop(&st, roll.drop, kill, resp)
}

fn finish_drop(st: &AppState, drop: bool, kill: Option<ConnKill>, resp: Response) -> Response {
    if drop {
        if let Some(k) = kill {
            st.dropped.fetch_add(1, Ordering::Relaxed);
            k.0.store(true, Ordering::SeqCst);
        }
    }
    resp
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `http://host` of the request (its `Host` header), read without
/// copying the other headers.
struct BaseUrl(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(BaseUrl(base_url(&parts.headers)))
    }
}

fn kind_of(resource: &str) -> Result<Kind, ErrorReply> {
    Kind::from_path(resource)
        .ok_or_else(|| ErrorReply::not_found(format!("No such route: /{resource}")))
}

fn parse_body(body: &Bytes) -> Result<Value, ErrorReply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        ErrorReply::param(
            format!("The request body is not valid JSON: {e}"),
            "request",
        )
    })
}

/// An object's text as shown, with relations expanded when the query asks.
fn expanded(st: &AppState, company: &str, text: Bytes, raw: Option<&str>) -> Bytes {
    let ex = list::expand_of(raw.unwrap_or(""));
    if ex.is_empty() {
        return text;
    }
    let data = st.store.lock();
    list::expand_text(data.companies.get(company), &text, &ex)
}

/// The reply for an object just written: its stored JSON text (made once,
/// shared with its database row and events) unless relations are to be
/// expanded.
fn stored_response(
    st: &AppState,
    company: &str,
    status: StatusCode,
    v: &Obj,
    raw: Option<&str>,
) -> Response {
    text_response(status, expanded(st, company, v.text().clone(), raw))
}

async fn list_route(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(resource): Path<String>,
    RawQuery(raw): RawQuery,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ErrorReply> {
    let kind = kind_of(&resource)?;
    let q = ListParams::parse(kind, raw.as_deref().unwrap_or(""))?;
    let base = format!("{base}/{}", kind.path());
    let page = {
        let data = st.store.lock();
        list::list(data.companies.get(&p.company), kind, &q, &base)?
    };
    let mut resp = json_list(&page.items);
    let h = resp.headers_mut();
    h.insert("x-total-count", HeaderValue::from(page.total));
    if let Ok(v) = HeaderValue::from_str(&page.link) {
        h.insert(header::LINK, v);
    }
    Ok(resp)
}

async fn get_route(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ErrorReply> {
    let kind = kind_of(&resource)?;
    let key = resources::parse_key(kind, &id)?;
    let text = {
        let data = st.store.lock();
        data.companies
            .get(&p.company)
            .and_then(|c| c.shown(kind, &key))
            .ok_or_else(|| resources::not_found(kind, &id))?
    };
    Ok(text_response(
        StatusCode::OK,
        expanded(&st, &p.company, text, raw.as_deref()),
    ))
}

async fn create_route(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(resource): Path<String>,
    RawQuery(raw): RawQuery,
    BaseUrl(base): BaseUrl,
    body: Bytes,
) -> Result<Response, ErrorReply> {
    let kind = kind_of(&resource)?;
    let body = parse_body(&body)?;
    let ctx = Ctx {
        company: &p.company,
        now: now(),
        base: &base,
    };
    let (res, commit) = st.store.write(|d| resources::create(d, &ctx, kind, body));
    let v = res?;
    {
        let mut created = st.created.lock().unwrap_or_else(|e| e.into_inner());
        match created.get_mut(kind.path()) {
            Some(n) => *n += 1,
            None => {
                created.insert(kind.path().to_string(), 1);
            }
        }
    }
    commit.wait().await;
    Ok(stored_response(
        &st,
        &p.company,
        StatusCode::CREATED,
        &v,
        raw.as_deref(),
    ))
}

async fn update_route(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    BaseUrl(base): BaseUrl,
    body: Bytes,
) -> Result<Response, ErrorReply> {
    let kind = kind_of(&resource)?;
    let key = resources::parse_key(kind, &id)?;
    let body = parse_body(&body)?;
    let ctx = Ctx {
        company: &p.company,
        now: now(),
        base: &base,
    };
    let (res, commit) = st
        .store
        .write(|d| resources::update(d, &ctx, kind, &key, body));
    let v = res?;
    commit.wait().await;
    Ok(stored_response(
        &st,
        &p.company,
        StatusCode::OK,
        &v,
        raw.as_deref(),
    ))
}

async fn delete_route(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path((resource, id)): Path<(String, String)>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ErrorReply> {
    let v = write_by_id(&st, &p, &resource, &id, &base, resources::delete).await?;
    Ok(match v {
        Some(v) => text_response(StatusCode::OK, v.text().clone()),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn void_route(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path((resource, id)): Path<(String, String)>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ErrorReply> {
    let v = write_by_id(&st, &p, &resource, &id, &base, resources::void).await?;
    Ok(text_response(StatusCode::OK, v.text().clone()))
}

/// Apply `op` to one object named by the path, and wait until it is stored.
async fn write_by_id<T>(
    st: &AppState,
    p: &Principal,
    resource: &str,
    id: &str,
    base: &str,
    op: impl FnOnce(&mut super::store::Data, &Ctx, Kind, &super::store::Key) -> Result<T, ErrorReply>,
) -> Result<T, ErrorReply> {
    let kind = kind_of(resource)?;
    let key = resources::parse_key(kind, id)?;
    let ctx = Ctx {
        company: &p.company,
        now: now(),
        base,
    };
    let (res, commit) = st.store.write(|d| op(d, &ctx, kind, &key));
    let v = res?;
    commit.wait().await;
    Ok(v)
}

async fn authorize_route(
    State(st): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ErrorReply> {
    let location = match auth::authorize(&st, raw.as_deref().unwrap_or(""), now())? {
        auth::Authorized::Redirect(l) => l,
        auth::Authorized::Refused(r) => {
            let mut resp = (StatusCode::BAD_REQUEST, r.page()).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return Ok(resp);
        }
    };
    let mut resp = StatusCode::FOUND.into_response();
    let v = HeaderValue::from_str(&location)
        .map_err(|_| ErrorReply::bad("redirect_uri cannot be used in a Location header"))?;
    resp.headers_mut().insert(header::LOCATION, v);
    Ok(resp)
}

async fn token_route(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ErrorReply> {
    let (v, commit) = auth::access_token(&st, &headers, &body, now())?;
    commit.wait().await;
    let mut resp = json_response(StatusCode::OK, &v);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn stats_route(State(st): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, &st.stats())
}

/// Serve `state` on `listener` until `shutdown` resolves; then requests in
/// flight get [`GRACE`] to finish, and connections still open after that
/// (a client that never sends the rest of its request) are dropped.
pub(crate) async fn serve_state(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<ConnKill>();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(());
    };
    let serving = axum::serve(KillListener(listener), app).with_graceful_shutdown(signal);
    let grace = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = serving => served?,
        () = grace => {
            tracing::warn!(grace = ?GRACE, "connections still open after the grace period: stopping without them");
        }
    }
    Ok(())
}

/// How long a stopping emulator waits for the requests in flight.
pub(crate) const GRACE: std::time::Duration = std::time::Duration::from_secs(5);
