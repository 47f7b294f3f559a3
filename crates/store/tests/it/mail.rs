//! The outbox as a delivery queue, and the mail provider: racing workers each lease different
//! messages and every message is leased once; a lease that ran out makes its message due again
//! and its first holder can no longer record an outcome; a retry waits until it is due; the
//! provider's SMTP password is sealed at rest.

use std::collections::BTreeSet;

use sigil_core::Store;
use sigil_core::model::{Delivered, DeliveryStatus, EmailProvider, OutgoingEmail, SmtpCredentials};
use sigil_core::store::Page;
use zeroize::Zeroizing;

use crate::backends::on_every_store;
use crate::fixtures::{at, contains, raw_bytes};

fn mail(n: i64) -> OutgoingEmail {
    OutgoingEmail {
        to: format!("user{n}@example.com"),
        subject: format!("message {n}"),
        body: format!("https://sigil.example/u/email-verification?ticket=T{n}"),
        kind: "verify_email".to_owned(),
        html: None,
        from: None,
        created_at: at(n),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_workers_lease_every_message_exactly_once() {
    on_every_store(|store| async move {
        for n in 0..60 {
            store.queue_email(&mail(n)).await.unwrap();
        }
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..8 {
            let store = store.clone();
            workers.spawn(async move {
                let lease = format!("worker{w}");
                let mut taken = Vec::new();
                loop {
                    let batch = store.claim_emails(at(100), &lease, 5).await.unwrap();
                    if batch.is_empty() {
                        return taken;
                    }
                    for claimed in batch {
                        assert_eq!(
                            (claimed.lease.as_str(), claimed.attempts),
                            (lease.as_str(), 1)
                        );
                        let sent = Delivered::Sent {
                            message_id: format!("<{}>", claimed.id),
                            at: at(101),
                        };
                        assert!(
                            store
                                .record_delivery(claimed.id, &lease, &sent)
                                .await
                                .unwrap()
                        );
                        taken.push(claimed.id);
                    }
                }
            });
        }
        let taken: Vec<i64> = workers.join_all().await.into_iter().flatten().collect();
        let unique: BTreeSet<i64> = taken.iter().copied().collect();
        assert_eq!((taken.len(), unique.len()), (60, 60), "each leased once");
        assert_eq!(
            store.count_outbox().await.unwrap(),
            0,
            "nothing left to send"
        );
        let entries = store.outbox(None, Page::new(0, 100)).await.unwrap();
        assert!(entries.iter().all(|e| e.status == DeliveryStatus::Sent
            && e.message_id.as_deref() == Some(&format!("<{}>", e.id))
            && e.sent_at == Some(at(101))));
    })
    .await;
}

#[tokio::test]
async fn leases_retries_and_failures() {
    on_every_store(|store| async move {
        store.queue_email(&mail(1)).await.unwrap();
        store.queue_email(&mail(2)).await.unwrap();
        assert!(
            store.claim_emails(at(1), "early", 10).await.unwrap().len() == 1,
            "only the first is due at 1"
        );

        // The lease ran out (its node died): another worker takes the message again, and the
        // first holder's outcome is no longer recorded.
        let lease_end = 1 + sigil_core::mail::LEASE;
        assert!(
            store
                .claim_emails(at(lease_end - 1), "other", 10)
                .await
                .unwrap()
                .iter()
                .all(|c| c.email.subject == "message 2")
        );
        let again = store
            .claim_emails(at(lease_end), "other", 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(
            (again[0].email.subject.as_str(), again[0].attempts),
            ("message 1", 2)
        );
        let failed = Delivered::Failed {
            error: "550 no such user".into(),
        };
        assert!(
            !store
                .record_delivery(again[0].id, "early", &failed)
                .await
                .unwrap(),
            "a lost lease records nothing"
        );

        // A transient failure: queued again, due only at its time, with the error kept.
        let retry = Delivered::Retry {
            at: at(lease_end + 60),
            error: "connection refused".into(),
        };
        assert!(
            store
                .record_delivery(again[0].id, "other", &retry)
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_delivery(again[0].id, "other", &retry)
                .await
                .unwrap(),
            "once per lease"
        );
        let entry = |entries: Vec<sigil_core::model::OutboxEntry>, subject: &str| {
            entries
                .into_iter()
                .find(|e| e.email.subject == subject)
                .unwrap()
        };
        let waiting = entry(
            store.outbox(None, Page::first()).await.unwrap(),
            "message 1",
        );
        assert_eq!(
            (
                waiting.status,
                waiting.attempts,
                waiting.next_attempt_at,
                waiting.last_error.as_deref()
            ),
            (
                DeliveryStatus::Queued,
                2,
                at(lease_end + 60),
                Some("connection refused")
            )
        );
        assert!(
            store
                .claim_emails(at(lease_end + 59), "third", 10)
                .await
                .unwrap()
                .iter()
                .all(|c| c.email.subject != "message 1")
        );
        let third = store
            .claim_emails(at(lease_end + 60), "third", 10)
            .await
            .unwrap();
        let first = third
            .iter()
            .find(|c| c.email.subject == "message 1")
            .unwrap();
        assert_eq!(first.attempts, 3);
        assert!(
            store
                .record_delivery(first.id, "third", &failed)
                .await
                .unwrap()
        );
        let gone = entry(
            store.outbox(None, Page::first()).await.unwrap(),
            "message 1",
        );
        assert_eq!(
            (gone.status, gone.last_error.as_deref()),
            (DeliveryStatus::Failed, Some("550 no such user"))
        );
        assert!(
            store
                .claim_emails(at(1_000_000), "fourth", 10)
                .await
                .unwrap()
                .iter()
                .all(|c| c.email.subject != "message 1"),
            "a failed message is never taken again"
        );
    })
    .await;
}

#[tokio::test]
async fn the_mail_provider_is_one_row_with_its_password_sealed() {
    on_every_store(|store| async move {
        assert_eq!(store.email_provider().await.unwrap(), None);
        assert!(!store.delete_email_provider().await.unwrap());
        let mut provider = EmailProvider {
            name: "smtp".into(),
            enabled: true,
            default_from_address: Some("login@example.com".into()),
            smtp: SmtpCredentials {
                host: "mail.example.com".into(),
                port: 587,
                user: "sigil".into(),
                pass: Zeroizing::new("PASSWORD-AT-REST".into()),
            },
            headers: vec![("X-Tag".into(), "login".into())],
        };
        store.put_email_provider(&provider, at(0)).await.unwrap();
        assert_eq!(
            store.email_provider().await.unwrap().as_ref(),
            Some(&provider)
        );
        let sealed = raw_bytes(
            store.database(),
            "SELECT sealed_smtp_pass FROM email_provider WHERE name = $1",
            "smtp",
        )
        .await
        .unwrap();
        assert!(!contains(&sealed, b"PASSWORD-AT-REST"));
        provider.enabled = false;
        provider.default_from_address = None;
        store.put_email_provider(&provider, at(1)).await.unwrap();
        assert_eq!(store.email_provider().await.unwrap(), Some(provider));
        assert!(store.delete_email_provider().await.unwrap());
        assert_eq!(store.email_provider().await.unwrap(), None);
    })
    .await;
}
