//! Housekeeping: `purge_expired` removes expired runtime rows in bounded batches, until none
//! are left, and never a live one.

use sigil_core::ids::FamilyId;
use sigil_core::model::TicketKind;
use sigil_core::store::{Purged, Retention};
use sigil_core::{Store, SystemRng};

use crate::backends::on_every_store;
use crate::fixtures::{at, code, device_code, outcome, refresh_token, session, ticket, world};

/// Expired rows of each kind.
const EXPIRED: u64 = 25;
/// Rows each purge call may remove per kind.
const BATCH: u32 = 10;
/// A retention that keeps every job and log event of these tests.
const KEEP: Retention = Retention {
    logs_before: sigil_core::UnixTime(0),
    jobs_before: sigil_core::UnixTime(0),
    mail_before: sigil_core::UnixTime(0),
};

#[tokio::test]
async fn purging_removes_expired_rows_in_batches_and_keeps_live_ones() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let (c, u) = (&w.client.client_id, &w.user.user_id);
        let family = || FamilyId::generate(&SystemRng);
        let gone = at(-10);

        // Expired: 25 of each kind. Sessions and refresh tokens also expire by idling: five of
        // each have only their idle end behind them.
        let mut dead_sessions = Vec::new();
        let mut dead_tokens = Vec::new();
        let mut dead_tickets = Vec::new();
        let mut dead_devices = Vec::new();
        let mut dead_codes = Vec::new();
        let mut dead_jtis = Vec::new();
        for i in 0..EXPIRED {
            let idle_only = i < 5;
            let mut s = session(u, gone);
            let mut t = refresh_token(c, u, &family(), Some(gone));
            if idle_only {
                s.expires_at = at(86_400);
                t.expires_at = None;
            }
            store.create_session(&s).await.unwrap();
            store.create_refresh_token(&t).await.unwrap();
            let x = code(c, u, gone);
            store.create_code(&x).await.unwrap();
            let k = ticket(u, TicketKind::PasswordReset, gone);
            store.create_ticket(&k).await.unwrap();
            let d = device_code(c, gone);
            store.create_device_code(&d).await.unwrap();
            let jti = format!("dead-{i}");
            store
                .record_client_assertion(c, &jti, gone, at(-300))
                .await
                .unwrap();
            dead_jtis.push(jti);
            dead_sessions.push(s);
            dead_tokens.push(t);
            dead_codes.push(x);
            dead_tickets.push(k);
            dead_devices.push(d);
        }

        // Live: unexpired ones, and a refresh token that never expires.
        let live_session = session(u, at(3600));
        store.create_session(&live_session).await.unwrap();
        let live_token = refresh_token(c, u, &family(), Some(at(3600)));
        let forever = refresh_token(c, u, &family(), None);
        for t in [&live_token, &forever] {
            store.create_refresh_token(t).await.unwrap();
        }
        let live_code = code(c, u, at(600));
        store.create_code(&live_code).await.unwrap();
        let live_ticket = ticket(u, TicketKind::EmailVerification, at(600));
        store.create_ticket(&live_ticket).await.unwrap();
        let live_device = device_code(c, at(600));
        store.create_device_code(&live_device).await.unwrap();
        store
            .record_client_assertion(c, "live", at(300), at(-10))
            .await
            .unwrap();

        let backend = store.database().backend();
        let mut calls = Vec::new();
        loop {
            let purged = store.purge_expired(at(0), &KEEP, BATCH).await.unwrap();
            calls.push(purged);
            if purged.total() == 0 {
                break;
            }
            assert!(
                calls.len() <= 10,
                "{backend:?}: purging does not end: {calls:?}"
            );
        }
        let per_kind = |p: &Purged| {
            [
                p.codes,
                p.sessions,
                p.refresh_tokens,
                p.device_codes,
                p.tickets,
                p.client_assertions,
            ]
        };
        for p in &calls {
            assert!(
                per_kind(p).iter().all(|&n| n <= u64::from(BATCH)),
                "{backend:?}: more than a batch in one call: {calls:?}"
            );
        }
        let full = u64::from(BATCH);
        assert_eq!(
            per_kind(&calls[0]),
            [full; 6],
            "{backend:?}: the first call takes a full batch of each kind"
        );
        let sum = calls.iter().fold(Purged::default(), |mut a, p| {
            a += *p;
            a
        });
        assert_eq!(per_kind(&sum), [EXPIRED; 6], "{backend:?}: {calls:?}");

        for s in &dead_sessions {
            assert_eq!(store.session(&s.id).await.unwrap(), None);
        }
        for t in &dead_tokens {
            assert_eq!(store.refresh_token(&t.digest).await.unwrap(), None);
        }
        for k in &dead_tickets {
            assert_eq!(store.ticket(&k.digest).await.unwrap(), None);
        }
        for d in &dead_devices {
            assert_eq!(
                store.device_code_by_user_code(&d.user_code).await.unwrap(),
                None
            );
        }
        for x in &dead_codes {
            assert_eq!(
                outcome(&store.redeem_code(&x.digest, at(1)).await),
                "NotFound"
            );
        }

        assert_eq!(
            store.session(&live_session.id).await.unwrap(),
            Some(live_session)
        );
        for t in [live_token, forever] {
            assert_eq!(store.refresh_token(&t.digest).await.unwrap(), Some(t));
        }
        assert_eq!(
            store.ticket(&live_ticket.digest).await.unwrap(),
            Some(live_ticket)
        );
        assert_eq!(
            store
                .device_code_by_user_code(&live_device.user_code)
                .await
                .unwrap(),
            Some(live_device)
        );
        assert_eq!(
            outcome(&store.redeem_code(&live_code.digest, at(1)).await),
            "Ok"
        );
        // A purged jti is free again; a live one is still refused.
        for jti in &dead_jtis {
            assert_eq!(
                outcome(&store.record_client_assertion(c, jti, at(60), at(1)).await),
                "Ok"
            );
        }
        assert_eq!(
            outcome(
                &store
                    .record_client_assertion(c, "live", at(600), at(1))
                    .await
            ),
            "AlreadyUsed"
        );
    })
    .await;
}

#[tokio::test]
async fn purging_follows_the_clock() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let (c, u) = (&w.client.client_id, &w.user.user_id);
        assert_eq!(
            store.purge_expired(at(0), &KEEP, 100).await.unwrap(),
            Purged::default()
        );
        let s = session(u, at(100));
        store.create_session(&s).await.unwrap();
        let k = ticket(u, TicketKind::PasswordReset, at(100));
        store.create_ticket(&k).await.unwrap();
        let x = code(c, u, at(100));
        store.create_code(&x).await.unwrap();

        // Before their end nothing goes; once the clock has passed it, everything does.
        assert_eq!(
            store
                .purge_expired(at(50), &KEEP, 100)
                .await
                .unwrap()
                .total(),
            0
        );
        assert_eq!(store.session(&s.id).await.unwrap(), Some(s.clone()));
        let later = store.purge_expired(at(101), &KEEP, 100).await.unwrap();
        assert_eq!(
            (later.sessions, later.tickets, later.codes, later.total()),
            (1, 1, 1, 3)
        );
        assert_eq!(store.session(&s.id).await.unwrap(), None);
        assert_eq!(store.ticket(&k.digest).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn jobs_and_log_events_go_once_past_their_retention() {
    on_every_store(|store| async move {
        let job = |created: i64| sigil_core::model::Job {
            id: sigil_core::ids::JobId::generate(&SystemRng),
            kind: sigil_core::model::JobKind::UsersExport,
            status: "completed".to_owned(),
            connection_id: None,
            external_id: None,
            created_at: at(created),
            details: sigil_core::model::JsonObject::new(),
            errors: Vec::new(),
            output: Some("[]".to_owned()),
        };
        let (old_job, new_job) = (job(-100), job(0));
        store.create_job(&old_job).await.unwrap();
        store.create_job(&new_job).await.unwrap();
        let event = |seconds: i64| sigil_core::model::NewLogEvent {
            date_ms: at(seconds).0 * 1000,
            ..sigil_core::model::NewLogEvent::default()
        };
        let ids = store
            .append_logs(&[event(-100), event(-1), event(0), event(5)])
            .await
            .unwrap();
        let retention = Retention {
            logs_before: at(0),
            jobs_before: at(-50),
            mail_before: at(-50),
        };
        // Mail: sent or failed and queued before the horizon goes; waiting mail stays,
        // however old.
        for n in [-100, -90, -80, 10] {
            store
                .queue_email(&sigil_core::model::OutgoingEmail {
                    to: format!("m{n}@example.com"),
                    subject: format!("{n}"),
                    body: "b".to_owned(),
                    html: None,
                    from: None,
                    kind: "verify_email".to_owned(),
                    created_at: at(n),
                })
                .await
                .unwrap();
        }
        let claimed = store.claim_emails(at(20), "lease", 10).await.unwrap();
        for (message, delivered) in claimed.iter().zip([
            sigil_core::model::Delivered::Sent {
                message_id: "<a>".into(),
                at: at(20),
            },
            sigil_core::model::Delivered::Failed {
                error: "550".into(),
            },
            sigil_core::model::Delivered::Retry {
                at: at(99),
                error: "421".into(),
            },
            sigil_core::model::Delivered::Sent {
                message_id: "<b>".into(),
                at: at(20),
            },
        ]) {
            assert!(
                store
                    .record_delivery(message.id, "lease", &delivered)
                    .await
                    .unwrap()
            );
        }
        let purged = store.purge_expired(at(0), &retention, 100).await.unwrap();
        assert_eq!(
            (purged.jobs, purged.logs, purged.outbox),
            (1, 2, 2),
            "{purged:?}"
        );
        let left: Vec<String> = store
            .outbox(None, sigil_core::Page::first())
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.email.subject)
            .collect();
        assert_eq!(left, ["10", "-80"], "the new one and the one still waiting");
        assert_eq!(store.job(&old_job.id).await.unwrap(), None);
        assert_eq!(store.job(&new_job.id).await.unwrap(), Some(new_job));
        for (id, kept) in ids.iter().zip([false, false, true, true]) {
            assert_eq!(store.log(id).await.unwrap().is_some(), kept, "{id:?}");
        }
        let again = store.purge_expired(at(0), &retention, 100).await.unwrap();
        assert_eq!(again, Purged::default());

        // A rate-limit bucket goes once it is full again (a full bucket is no bucket).
        let limit = sigil_core::rate_limit::RateLimit::per_second(10, 10);
        store
            .take_rate_limit("client-1", limit, at(0).0 * 1000)
            .await
            .unwrap();
        let early = store.purge_expired(at(0), &retention, 100).await.unwrap();
        assert_eq!(early.rate_limits, 0, "a bucket not yet full stays");
        let later = store.purge_expired(at(5), &retention, 100).await.unwrap();
        assert_eq!(later.rate_limits, 1, "{later:?}");
    })
    .await;
}
