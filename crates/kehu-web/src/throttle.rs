//! Sign-in throttling that an attacker cannot turn against a user, and the client address it
//! is keyed on.
//!
//! Three counters, all in the database (`kehu_store::throttle`) so that they hold across kehu
//! processes, each a progressive delay rather than a lock: a few free attempts, then a wait
//! that doubles with every further attempt up to a cap.
//!
//! - **account from one address** ([`ACCOUNT_IP`]): the strict one. It stops guessing one
//!   account from one place and only ever slows that place down.
//! - **address** ([`IP`]): attempts from one address across all user names (password
//!   spraying). Generous, as offices share an address behind NAT; a success takes back its own
//!   attempt but never clears what the address did to other accounts.
//! - **account** ([`ACCOUNT`]): attempts on one user name from everywhere (guessing from many
//!   addresses). It is gentle (a short cap) and it is skipped for a *known device*: a browser
//!   that signed in to this account before carries a random device cookie whose digest is
//!   stored with the user name (OWASP "device cookies"). So an attacker hammering `admin`, from
//!   one address or many, never keeps the administrator out: from another address the strict
//!   counter is not theirs, and from the administrator's own browser the account counter does
//!   not apply. A stolen device cookie still meets the two other counters. A browser holds one
//!   device cookie, for the last account that signed in with it.
//!
//! The counters are keyed by the normalised user name as typed, whether the account exists or
//! not, and each attempt is counted *before* the password is checked, in the same statement
//! that decides whether it may go on: twenty parallel attempts get twenty distinct counts, not
//! twenty passes of a check made before any of them was counted. A success resets the
//! account's counters. Unknown names go through exactly the same steps (a dummy argon2 hash
//! is verified), so neither the answers nor their timing tell which names exist.

use std::net::IpAddr;

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use kehu_store::StoreResult;
use kehu_store::throttle::{Gate, Policy, Scope, ThrottleStore};

use crate::config::TrustedProxies;

/// One account from one address: five free attempts, then 15 s doubling to 15 minutes.
pub const ACCOUNT_IP: Policy = Policy {
    free: 5,
    base: Duration::seconds(15),
    cap: Duration::minutes(15),
};

/// One address across accounts: thirty free failures, then 15 s doubling to 15 minutes.
pub const IP: Policy = Policy {
    free: 30,
    base: Duration::seconds(15),
    cap: Duration::minutes(15),
};

/// One account from everywhere, skipped for a known device: ten free attempts, then 30 s
/// doubling to 5 minutes, so even a distributed attack delays the account's owner on a new
/// device by at most a few minutes.
pub const ACCOUNT: Policy = Policy {
    free: 10,
    base: Duration::seconds(30),
    cap: Duration::minutes(5),
};

/// The cookie that makes a browser a known device of the account it signed in to.
pub const DEVICE_COOKIE: &str = "kehu_device";
/// How long a device stays known after its sign-in.
pub const DEVICE_DAYS: i64 = 90;

/// The user name as counters and the user table know it.
pub fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the rightmost
/// address in `X-Forwarded-For` that is not itself a trusted proxy. Anything a client writes
/// into the header left of that is ignored, so it cannot pick the address it is counted on.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        // A malformed entry ends the trusted chain: the last good hop is the client.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

/// The counter subject of an address. IPv6 is counted per /64: one host usually holds the
/// whole network, and counting single addresses would hand it 2^64 budgets.
fn ip_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
    }
}

fn account_ip_subject(username: &str, ip: IpAddr) -> String {
    format!("{}|{username}", ip_subject(ip))
}

/// Counts a sign-in attempt on every counter that applies, strictest first, and says whether
/// it may go on (`None`) or until when it must wait. A refused counter stops the walk, so a
/// throttled attempt is not counted against the wider counters after it: hammering one account
/// from one address slows that address, not the account for everyone.
pub async fn admit(
    store: &ThrottleStore,
    username: &str,
    ip: IpAddr,
    known_device: bool,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let mut gates = vec![
        (
            Scope::AccountIp,
            account_ip_subject(username, ip),
            ACCOUNT_IP,
        ),
        (Scope::Ip, ip_subject(ip), IP),
    ];
    if !known_device {
        gates.push((Scope::Account, username.to_owned(), ACCOUNT));
    }
    for (scope, subject, policy) in gates {
        if let Gate::Wait(until) = store.attempt(scope, &subject, &policy, now).await? {
            return Ok(Some(until));
        }
    }
    Ok(None)
}

/// A successful sign-in: the account's counters start again; the address only gets back the
/// attempt just made, so a sprayer's one good guess does not buy a fresh budget.
pub async fn succeeded(store: &ThrottleStore, username: &str, ip: IpAddr) -> StoreResult<()> {
    store
        .reset(Scope::AccountIp, &account_ip_subject(username, ip))
        .await?;
    store.reset(Scope::Account, username).await?;
    store
        .give_back(Scope::Ip, &ip_subject(ip), &IP, Utc::now())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = v.parse() {
            h.insert("x-forwarded-for", v);
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap_or_default();
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let stranger: IpAddr = [203, 0, 113, 9].into();
        let h = xff("1.1.1.1, 198.51.100.7, 10.0.0.2");
        // The header of an untrusted peer is ignored.
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        // Behind the proxies: the rightmost address that is not one of them.
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            IpAddr::from([198, 51, 100, 7])
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(
            client_ip(proxy, &xff("junk, 10.0.0.3"), &trusted),
            IpAddr::from([10, 0, 0, 3])
        );
        let none = TrustedProxies::default();
        assert_eq!(client_ip(proxy, &h, &none), proxy);
    }

    #[test]
    fn ipv6_clients_are_counted_per_network() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or([0, 0, 0, 0].into());
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or([0, 0, 0, 0].into());
        assert_eq!(ip_subject(a), ip_subject(b));
        assert_eq!(ip_subject(a), "2001:db8:1:2::/64");
        assert_eq!(ip_subject([192, 0, 2, 1].into()), "192.0.2.1");
    }
}
