//! Faults an operator meets: the database unreachable for a while. An outage
//! answers fast with a retryable code, never as a failed sign-in, and the
//! server recovers by itself. A transaction that loses a race runs again.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use serde_json::{Value, json};
use xpr_tests::{TestApp, code};

#[tokio::test]
async fn a_database_outage_answers_fast_and_retryable_and_recovers() {
    // Only PostgreSQL has a network between the server and its data.
    let Some((app, proxy)) = TestApp::spawn_behind_proxy(&["--db-timeout-ms", "500"]).await else { return };
    let alice = app.register("alice").await;
    let post = |token: Option<String>, query: &'static str| {
        let mut request = app.http.post(format!("{}/graphql", app.url)).json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let (status, retry) = (response.status().as_u16(), response.headers().get("retry-after").cloned());
            (status, retry, response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(post(Some(alice.access.clone()), "{ viewer { handle } }").await.2["data"]["viewer"]["handle"], "alice");

    proxy.cut();
    for (token, query) in [(Some(alice.access.clone()), "{ viewer { handle } }"), (None, "{ entryKinds { slug } }")] {
        let started = Instant::now();
        let (status, retry, body) = post(token, query).await;
        // Not UNAUTHENTICATED: a client would sign its user out.
        assert_eq!((status, code(&body)), (503, "UNAVAILABLE"), "{body}");
        assert!(retry.is_some(), "a 503 says when to retry");
        assert!(started.elapsed() < Duration::from_secs(5), "no request waits out the outage");
    }
    let started = Instant::now();
    let ready = app.http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(3), "readiness answers within a second or so");

    proxy.restore();
    // Connections broken by the cut are replaced; a client retrying gets through.
    let mut answered = None;
    for _ in 0..20 {
        let (status, _, body) = post(Some(alice.access.clone()), "{ viewer { handle } }").await;
        if status == 200 {
            answered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(answered.expect("recovered")["data"]["viewer"]["handle"], "alice");
}

#[tokio::test]
async fn stopping_closes_sockets_with_1001_publishes_the_outbox_and_ends_cleanly() {
    // The relay would wait a minute: what it publishes here, the shutdown did.
    let app = TestApp::spawn_with(&["--relay-interval-ms", "60000", "--shutdown-grace-secs", "5"]).await;
    if app.db().get_database_backend() == DbBackend::Postgres {
        // The trigger's NOTIFY would wake the relay at once, racing the check below.
        app.db().execute_unprepared("ALTER TABLE outbox_events DISABLE TRIGGER outbox_events_notify").await.unwrap();
    }
    let alice = app.verified("alice").await;
    let mut socket = app.ws(Some(&alice.access)).await;
    socket.subscribe("n", "subscription { notificationReceived { id } }", json!({})).await;
    // Bob signing out writes an event (for his sockets) to the outbox.
    let bob = app.register("bob").await;
    app.gql(Some(&bob.access), "mutation { logout }", json!({})).await;
    let waiting = "SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL";
    let count = |app: &TestApp| {
        let db = app.db().clone();
        async move {
            use sea_orm::{ConnectionTrait, Statement};
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), waiting)).await.unwrap();
            row.unwrap().try_get::<i64>("", "n").unwrap()
        }
    };
    assert!(count(&app).await > 0, "an event waits in the outbox");

    app.shut_down().await.expect("a clean stop");
    // Going away (1001): `graphql-ws` reconnects, to another replica, and resumes.
    let closed = socket.next(Duration::from_secs(5)).await;
    assert!(matches!(closed, Some(xpr_tests::WsEvent::Closed(1001, _))), "{closed:?}");
    assert_eq!(count(&app).await, 0, "the outbox was published before the end");
    assert!(app.http.get(format!("{}/healthz", app.url)).send().await.is_err(), "no new connections");
}

#[tokio::test]
async fn a_transaction_that_loses_a_race_runs_again() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    db.execute_unprepared("CREATE TABLE counter (n BIGINT NOT NULL); INSERT INTO counter VALUES (0)").await.unwrap();
    let attempts = AtomicU32::new(0);
    let increment = || async {
        xpr_api::transaction!(db, |txn| {
            attempts.fetch_add(1, Ordering::Relaxed);
            if postgres {
                // A concurrent update of the same row fails with 40001 instead of waiting.
                txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").await?;
            }
            let n: i64 = txn
                .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT n FROM counter"))
                .await?
                .expect("one row")
                .try_get_by_index(0)?;
            // Both transactions have read before either writes.
            tokio::time::sleep(Duration::from_millis(50)).await;
            txn.execute_unprepared(&format!("UPDATE counter SET n = {}", n + 1)).await?;
            Ok(())
        })
    };
    let results = futures_util::future::join_all((0..4).map(|_| increment())).await;
    assert!(results.iter().all(Result::is_ok), "every writer succeeds in the end: {results:?}");
    let n: i64 = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT n FROM counter"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(n, 4, "no increment lost");
    if postgres {
        assert!(attempts.load(Ordering::Relaxed) > 4, "the losers ran again");
    }
}
