//! API tokens as records: issued with a role (and the party a liaison acts for), refused when
//! the role and the party disagree, revoked once, and accepted only while neither expired nor
//! revoked — replayed from their events like any other kind.

mod common;

use jiff::Timestamp;
use steadfast_domain::{
    Draft, EventMeta, Field, Ledger, PartyKind, PartyRegistered, Role, TokenId, TokenIssued,
    TokenRevoked,
};

use common::{date, party};

fn issued(token: &str, role: Role, for_party: Option<&str>) -> TokenIssued {
    TokenIssued {
        token: TokenId::parse(token).expect("id"),
        digest: "ab".repeat(32),
        role,
        party: for_party.map(party),
        holder: "Liaison office".to_owned(),
        issued_on: date("2026-12-01"),
        expires_on: date("2027-03-01"),
    }
}

fn ledger_with_ukraine() -> Ledger {
    let mut ledger = Ledger::new();
    let mut draft = Draft::new(&ledger);
    draft
        .register_party(PartyRegistered {
            party: party("UKR"),
            name: "Ukraine".to_owned(),
            kind: PartyKind::State,
            registered_on: date("2024-01-01"),
        })
        .expect("party");
    let events = draft.into_events();
    fold(&mut ledger, events);
    ledger
}

fn fold(ledger: &mut Ledger, events: Vec<steadfast_domain::DomainEvent>) {
    for (i, event) in events.into_iter().enumerate() {
        let position = ledger.events_applied() + 1 + i as u64;
        ledger.apply_owned(
            EventMeta {
                position,
                recorded_at: Timestamp::UNIX_EPOCH,
            },
            event,
        );
    }
}

#[test]
fn a_token_is_issued_once_and_accepted_until_it_expires_or_is_revoked() {
    let mut ledger = ledger_with_ukraine();
    let token = issued("T-1", Role::Recipient, Some("UKR"));
    let mut draft = Draft::new(&ledger);
    assert_eq!(draft.issue_token(token.clone()), Ok(true));
    assert_eq!(
        draft.issue_token(token.clone()),
        Ok(false),
        "the same again: a no-op"
    );
    let events = draft.into_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].schema(), ("credential.token-issued", 1));
    assert_eq!(events[0].stream(), "credential:T-1");
    fold(&mut ledger, events);

    let found = ledger.credential(&token.token).expect("found by digest");
    assert!(found.accepted_on(date("2027-03-01")));
    assert!(!found.accepted_on(date("2027-03-02")), "expired");

    let mut other = token.clone();
    other.role = Role::Observer;
    other.party = None;
    let refused = Draft::new(&ledger)
        .issue_token(other)
        .expect_err("another under its id");
    assert_eq!(refused[0].field, Some(Field::Key("token")));

    let revoke = TokenRevoked {
        token: token.token.clone(),
        revoked_on: date("2026-12-02"),
    };
    let mut draft = Draft::new(&ledger);
    assert_eq!(draft.revoke_token(revoke.clone()), Ok(true));
    let events = draft.into_events();
    fold(&mut ledger, events);
    let found = ledger.credential(&token.token).expect("still listed");
    assert!(!found.accepted_on(date("2026-12-03")), "revoked");
    assert_eq!(
        Draft::new(&ledger).revoke_token(revoke),
        Ok(false),
        "revoked once"
    );
}

#[test]
fn the_role_and_the_party_must_agree_and_every_reason_names_its_key() {
    let ledger = ledger_with_ukraine();
    let cases = [
        (issued("T-2", Role::Donor, None), "party"),
        (issued("T-3", Role::Observer, Some("UKR")), "party"),
        (issued("T-4", Role::Donor, Some("NSPA")), "party"),
        (
            TokenIssued {
                digest: "not a digest".to_owned(),
                ..issued("T-5", Role::Coordinator, None)
            },
            "digest",
        ),
        (
            TokenIssued {
                holder: " ".to_owned(),
                ..issued("T-6", Role::Coordinator, None)
            },
            "holder",
        ),
        (
            TokenIssued {
                expires_on: date("2026-11-30"),
                ..issued("T-7", Role::Administrator, None)
            },
            "expires_on",
        ),
    ];
    for (token, key) in cases {
        let refused = Draft::new(&ledger)
            .issue_token(token.clone())
            .expect_err(&format!("{token:?} refused"));
        assert_eq!(
            refused[0].field,
            Some(Field::Key(key)),
            "{token:?}: {refused:?}"
        );
    }
    let unknown = TokenRevoked {
        token: TokenId::parse("T-404").expect("id"),
        revoked_on: date("2026-12-02"),
    };
    let refused = Draft::new(&ledger)
        .revoke_token(unknown)
        .expect_err("none issued");
    assert_eq!(refused[0].field, Some(Field::Key("token")));
}
