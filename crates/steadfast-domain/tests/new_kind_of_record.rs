//! A new kind of record is one module implementing `Aggregate`, plus its registration. This
//! test writes the first coordination record, a need stated by a recipient, as such a module
//! (its skeleton: no product code knows it), and runs it through what every kind gets from the
//! trait: decisions against the record as it stands, refusals in the one `Rejection` shape,
//! folding in a `Book`, stream names and versions, and replay equal to the state built while
//! deciding.

mod need {
    use jiff::civil::Date;
    use steadfast_domain::party::Directory;
    use steadfast_domain::{Aggregate, EventMeta, Field, PartyId, Reason, Rejection};

    /// A recipient states a need (the coordination issue's first record).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NeedStated {
        pub need: String,
        pub recipient: PartyId,
        pub item: String,
        pub stated_on: Date,
    }

    /// A need is met or withdrawn.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NeedClosed {
        pub need: String,
        pub closed_on: Date,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum NeedCommand {
        State(NeedStated),
        Close(NeedClosed),
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum NeedEvent {
        Stated(NeedStated),
        Closed(NeedClosed),
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Need {
        pub stated: NeedStated,
        pub closed_on: Option<Date>,
        pub events: u64,
    }

    impl Aggregate for Need {
        const KIND: &'static str = "need";
        type Id = String;
        type Command = NeedCommand;
        type Event = NeedEvent;
        type Context<'c> = dyn Directory + 'c;

        fn target(command: &NeedCommand) -> String {
            match command {
                NeedCommand::State(c) => c.need.clone(),
                NeedCommand::Close(c) => c.need.clone(),
            }
        }

        fn id_of(event: &NeedEvent) -> String {
            match event {
                NeedEvent::Stated(e) => e.need.clone(),
                NeedEvent::Closed(e) => e.need.clone(),
            }
        }

        fn decide(
            record: Option<&Need>,
            command: &NeedCommand,
            registry: &(dyn Directory + '_),
        ) -> Result<Vec<NeedEvent>, Rejection> {
            match (command, record) {
                (NeedCommand::State(c), Some(r)) if r.stated == *c => Ok(Vec::new()),
                (NeedCommand::State(c), Some(_)) => Err(Rejection::one(Reason::whole(format!(
                    "need {} is already stated differently",
                    c.need
                )))),
                (NeedCommand::State(c), None) => {
                    if !registry.knows_party(&c.recipient) {
                        return Err(Rejection::one(Reason::at(
                            Field::Recipient,
                            format!("unknown party {}", c.recipient),
                        )));
                    }
                    Ok(vec![NeedEvent::Stated(c.clone())])
                }
                (NeedCommand::Close(c), None) => Err(Rejection::one(Reason::whole(format!(
                    "need {} is not stated",
                    c.need
                )))),
                (NeedCommand::Close(_), Some(r)) if r.closed_on.is_some() => Ok(Vec::new()),
                (NeedCommand::Close(c), Some(_)) => Ok(vec![NeedEvent::Closed(c.clone())]),
            }
        }

        fn open(_: EventMeta, event: &NeedEvent) -> Option<Need> {
            match event {
                NeedEvent::Stated(e) => Some(Need {
                    stated: e.clone(),
                    closed_on: None,
                    events: 0,
                }),
                NeedEvent::Closed(_) => None,
            }
        }

        fn apply(&mut self, _: EventMeta, event: NeedEvent) {
            self.events += 1;
            if let NeedEvent::Closed(e) = event {
                self.closed_on = Some(e.closed_on);
            }
        }

        fn version(&self) -> u64 {
            self.events
        }
    }
}

use jiff::civil::Date;
use need::{Need, NeedClosed, NeedCommand, NeedEvent, NeedStated};
use steadfast_domain::party::Directory;
use steadfast_domain::{Aggregate, Book, EventMeta, Field, Party, PartyId};

/// The registry a need's decision reads: no organisation registered, every state known.
struct States;

impl Directory for States {
    fn party(&self, _: &PartyId) -> Option<&Party> {
        None
    }
}

fn stated(need: &str, recipient: &str) -> NeedCommand {
    NeedCommand::State(NeedStated {
        need: need.to_owned(),
        recipient: PartyId::parse(recipient).expect("party"),
        item: "155mm rounds".to_owned(),
        stated_on: Date::constant(2026, 11, 2),
    })
}

#[test]
fn a_new_kind_of_record_is_decided_folded_and_replayed_through_the_trait_alone() {
    let mut book: Book<Need> = Book::default();
    let mut log: Vec<NeedEvent> = Vec::new();
    let commands = [
        stated("N-1", "UKR"),
        stated("N-1", "UKR"),
        stated("N-2", "UKR"),
        NeedCommand::Close(NeedClosed {
            need: "N-1".to_owned(),
            closed_on: Date::constant(2026, 12, 1),
        }),
    ];
    for command in &commands {
        let events = book.decide(command, &States).expect("decided");
        for event in events {
            book.apply(EventMeta::PENDING, event.clone());
            log.push(event);
        }
    }
    // The same statement twice is recorded once; the close is one more event on N-1.
    assert_eq!(log.len(), 3);
    assert_eq!(Need::stream(&log[0]), "need:N-1");
    let n1 = book.get(&"N-1".to_owned()).expect("N-1");
    assert_eq!(n1.version(), 2);
    assert_eq!(n1.closed_on, Some(Date::constant(2026, 12, 1)));

    // A replay of the log gives the state built while deciding.
    let mut replayed: Book<Need> = Book::default();
    for event in log {
        replayed.apply(EventMeta::PENDING, event);
    }
    assert_eq!(replayed, book);
}

#[test]
fn a_new_kind_of_record_refuses_in_the_one_rejection_shape() {
    let book: Book<Need> = Book::default();
    let refused = book
        .decide(
            &NeedCommand::Close(NeedClosed {
                need: "N-9".to_owned(),
                closed_on: Date::constant(2026, 12, 1),
            }),
            &States,
        )
        .expect_err("nothing to close");
    assert_eq!(refused.to_string(), "need N-9 is not stated");
    let unknown = book
        .decide(&stated("N-1", "NSATU"), &States)
        .expect_err("an organisation not registered");
    assert_eq!(unknown[0].field, Some(Field::Recipient));
    assert!(unknown.to_string().contains("NSATU"), "{unknown}");
}
