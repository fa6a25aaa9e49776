//! The HTTP side the simulated T/CEC servers share (operators' platforms and the superior):
//! the accept loop, a JSON answer, and reading a T/CEC request's interface, token and body.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId};
use evgrid_tcec::gate::MAX_BODY_BYTES;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

/// Serves HTTP/1.1 on `listener` with `answer` until `stop` turns true.
pub(crate) async fn serve<S, F, Fut>(
    state: Arc<S>,
    listener: tokio::net::TcpListener,
    mut stop: watch::Receiver<bool>,
    answer: F,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = state.clone();
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let fut = answer(state.clone(), req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A JSON answer with `status`.
pub(crate) fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json;charset=utf-8"),
    );
    res
}

/// A T/CEC request as the gate takes it: the interface (the path after `base_path`), the
/// bearer token and the body (at most [`MAX_BODY_BYTES`]); a path outside `base_path` gets its
/// 404 answer.
pub(crate) async fn tcec_request(
    req: Request<hyper::body::Incoming>,
    base_path: &str,
) -> Result<(String, Option<String>, Bytes), Response<Full<Bytes>>> {
    let path = req.uri().path().to_owned();
    let Some(interface) = path.strip_prefix(base_path).map(str::to_owned) else {
        return Err(reply(
            StatusCode::NOT_FOUND,
            br#"{"Ret":4003,"Msg":"not a T/CEC path","Data":"","Sig":""}"#.to_vec(),
        ));
    };
    let bearer = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    Ok((interface, bearer, body))
}

/// The credentials of the one caller a simulated server accepts, by its key set.
pub(crate) fn caller(
    id: &OperatorId,
    operator_secret: &str,
    data_secret: &str,
    data_secret_iv: &str,
    sig_secret: &str,
) -> OperatorCredentials {
    OperatorCredentials {
        operator_id: id.clone(),
        operator_secret: operator_secret.to_owned(),
        data_secret: data_secret.to_owned(),
        data_secret_iv: data_secret_iv.to_owned(),
        sig_secret: sig_secret.to_owned(),
        base_url: None,
        coords: CoordSystem::Gcj02,
        platform_secret: None,
        stale_after_seconds: None,
    }
}
