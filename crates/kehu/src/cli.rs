//! The subcommands. Each opens what it needs, does one thing, and reports in one line.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::Offset as _;
use clap::{Args, Parser, Subcommand};
use kehu_domain::policy::OwnerFilter;
use kehu_domain::secrets::{hash_password, new_token, token_digest};
use kehu_domain::user::{DisplayName, NewPassword, Username};
use kehu_store::users::{NewUser, UserFilter};
use kehu_store::{Actor, Backend, PageRequest, Store};
use kehu_web::setup::{AdminBootstrap, bootstrap_admin};
use kehu_web::{Application, Config, Modules};

#[derive(Parser, Debug)]
#[command(
    name = "kehu",
    version,
    about = "kehu (客户): customer relationship management"
)]
pub struct Cli {
    /// Configuration file (default: ./kehu.toml if it exists).
    #[arg(long, global = true, env = "KEHU_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server (migrates the database first).
    Serve,
    /// Apply pending database migrations and seed data.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage personal API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Copy the SQLite database to a file (PostgreSQL: explains pg_dump).
    Backup {
        /// Target file (default: <data_dir>/backup-<timestamp>.db).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load and check the configuration and the database connection.
    CheckConfig,
    /// Load a believable zh-CN company: users for each role, customers and their contacts.
    Demo {
        /// How many customers to add (a second run adds more, continuing the book).
        #[arg(long, default_value_t = 500)]
        customers: u64,
        /// How many sales opportunities to add, in every status, with their development
        /// plans (a second run adds more).
        #[arg(long, default_value_t = 300)]
        opportunities: u64,
        /// How many service requests to add (consultations, complaints with their steps,
        /// suggestions), in every stage (a second run adds more).
        #[arg(long, default_value_t = 200)]
        services: u64,
        /// The same seed gives the same company.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Customer-value analytics of a transactions CSV: RFM, 80/20, BG/NBD + Gamma-Gamma CLV,
    /// value classes, clusters.
    Analyze(kehu_analytics::command::AnalyzeArgs),
    /// Import customers, contacts, products or orders (what the modules register) from a
    /// CSV or XLSX file.
    Import(ImportArgs),
    /// Export customers or contacts as CSV, XLSX or vCard.
    Export(kehu_customers::cli::ExportArgs),
    /// The scheduled jobs (the loss scan …): list them, or run one now.
    #[command(subcommand)]
    Jobs(JobsCmd),
}

#[derive(Subcommand, Debug)]
enum JobsCmd {
    /// Every job with its schedule, next run and last run.
    List,
    /// Run a job now (unless a run of it is under way on some instance) and print its
    /// figures; exits with 1 when the run failed.
    Run {
        /// The job, e.g. loss-scan.
        name: String,
    },
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// What the file holds: customers, contacts, products or orders (one row per order line).
    what: String,
    #[command(flatten)]
    flags: crate::import::ImportFlags,
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Create a user; the password is read from KEHU_USER_PASSWORD or generated and printed.
    Add(UserAdd),
    /// Set a user's password (from KEHU_USER_PASSWORD, or generated and printed).
    Passwd {
        username: String,
        /// Make the user choose a new password at next sign-in.
        #[arg(long)]
        temporary: bool,
    },
    /// Disable a user (ends their sessions).
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// List users.
    List,
}

#[derive(Args, Debug)]
struct UserAdd {
    username: String,
    /// Role code: admin, sales_supervisor, account_manager, executive.
    #[arg(long, default_value = "account_manager")]
    role: String,
    /// Display name (default: the user name).
    #[arg(long)]
    name: Option<String>,
}

#[derive(Subcommand, Debug)]
enum TokenCmd {
    /// Issue a token for a user; prints the token alone on stdout.
    Issue {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the token expires; 0 issues a token that never expires (for automation
        /// an operator runs; the web and API always set an expiry).
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u16).range(0..=3650))]
        expires_days: u16,
    },
    /// Revoke a token by id.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    // Pure computation over files: needs neither configuration nor database.
    if let Command::Analyze(args) = &cli.command {
        return kehu_analytics::command::run(args);
    }
    let config = Config::load(cli.config.as_deref())?;
    kehu_web::telemetry::init(&config.log_level, &config.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(dispatch(cli.command, config))
}

/// The modules this binary runs: the platform's, then the product modules (each a crate
/// under `crates/modules/`, added here as `kehu_customers::module()` …) in navigation order.
fn modules() -> anyhow::Result<Modules> {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_sales::module());
    modules.push(kehu_service::module());
    modules.push(kehu_loss::module());
    modules.push(kehu_reports::module());
    Modules::new(modules)
}

/// Opens the database with every module's migrations and seed.
async fn open(config: &Config) -> anyhow::Result<Store> {
    open_with(&modules()?, config).await
}

/// [`open`] with the modules already listed.
async fn open_with(modules: &Modules, config: &Config) -> anyhow::Result<Store> {
    if config.db_url().starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    modules.open_store(config).await
}

/// The password for a CLI-created account: KEHU_USER_PASSWORD, or a generated one to print.
fn cli_password() -> anyhow::Result<(String, bool)> {
    match std::env::var("KEHU_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => {
            NewPassword::parse("password", &p).map_err(|e| {
                anyhow::anyhow!(
                    "KEHU_USER_PASSWORD is refused: {}",
                    NewPassword::refusal(&e.code)
                )
            })?;
            Ok((p, false))
        }
        _ => Ok((kehu_domain::secrets::generate_password(), true)),
    }
}

async fn dispatch(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::CheckConfig => {
            let store = open(&config).await?;
            store.db.ping().await.context("pinging the database")?;
            for w in config.warnings() {
                eprintln!("warning: {w}");
            }
            println!("configuration ok: {config:?}");
            Ok(())
        }
        Command::User(cmd) => user(cmd, &open(&config).await?).await,
        Command::Token(cmd) => token(cmd, &open(&config).await?).await,
        Command::Backup { out } => backup(&config, out).await,
        Command::Demo {
            customers,
            opportunities,
            services,
            seed,
        } => demo(&config, customers, opportunities, services, seed).await,
        Command::Analyze(args) => kehu_analytics::command::run(&args),
        Command::Import(ImportArgs { what, flags }) => {
            let modules = modules()?;
            let kind = crate::import::kind(&modules.imports(), &what)?;
            let store = open_with(&modules, &config).await?;
            let state = kehu_web::AppState::with_modules(store, config, &modules);
            crate::import::run(&state, kind, &flags).await
        }
        Command::Export(args) => {
            kehu_customers::cli::export(&open(&config).await?, &config, args).await
        }
        Command::Jobs(cmd) => {
            let modules = modules()?;
            let store = open_with(&modules, &config).await?;
            jobs(
                cmd,
                &kehu_web::AppState::with_modules(store, config, &modules),
            )
            .await
        }
    }
}

async fn jobs(cmd: JobsCmd, state: &kehu_web::AppState) -> anyhow::Result<()> {
    use kehu_web::jobs::{JobView, RunError, overview, run_now};
    match cmd {
        JobsCmd::List => {
            for JobView { job, last, .. } in overview(state).await? {
                println!(
                    "{}\tschedule {}{}\tnext {}\tlast {}",
                    job.name,
                    job.schedule,
                    if job.enabled { "" } else { " (disabled)" },
                    job.next_run_at.to_rfc3339(),
                    last.map_or_else(
                        || "never".to_owned(),
                        |r| format!("{} {}", r.started_at.to_rfc3339(), r.status)
                    ),
                );
            }
            Ok(())
        }
        JobsCmd::Run { name } => {
            let run = match run_now(state, &name, None).await {
                Ok(run) => run,
                Err(RunError::Unknown) => {
                    let names: Vec<_> = state.scheduled.iter().map(|j| j.name).collect();
                    anyhow::bail!("no job {name:?}; the jobs are: {}", names.join(", "))
                }
                Err(RunError::Busy) => {
                    anyhow::bail!("{name} is running now (on this or another kehu instance)")
                }
                Err(RunError::Store(e)) => return Err(e.into()),
            };
            let took = run.seconds().unwrap_or_default();
            println!("{name}: {} in {took:.1} s", run.status);
            if let Some(figures) = run.figures.as_deref() {
                println!("{figures}");
            }
            match run.error {
                Some(e) => anyhow::bail!("{name} failed: {e}"),
                None => Ok(()),
            }
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let store = open(&config).await?;
    match bootstrap_admin(&store, config.admin_password.as_deref()).await? {
        AdminBootstrap::Generated(p) => {
            println!(
                "Created the administrator account.\n  user name: admin\n  password:  {p}\nThis password is shown once; you will choose a new one at first sign-in."
            );
        }
        AdminBootstrap::Configured => {
            println!("Created the administrator account `admin` with KEHU_ADMIN_PASSWORD.")
        }
        AdminBootstrap::Existing => {}
    }
    let app = Application::with_modules(config, store, modules()?).await?;
    let stop = kehu_web::app::shutdown_signal();
    let addr = app.addr()?;
    tracing::info!(%addr, ready_ms = started.elapsed().as_millis(), "kehu is ready");
    println!("kehu listens on http://{addr}");
    app.run_until(stop).await.context("serving")
}

async fn user(cmd: UserCmd, store: &Store) -> anyhow::Result<()> {
    let actor = Actor::system();
    let find = |name: String| async move {
        store
            .users
            .by_username(&name.to_lowercase())
            .await?
            .with_context(|| format!("no user named {name:?}"))
    };
    match cmd {
        UserCmd::Add(a) => {
            let username = Username::parse(&a.username)
                .map_err(|e| anyhow::anyhow!("user name: {}", e.code))?;
            let display = DisplayName::parse(a.name.as_deref().unwrap_or(&a.username))
                .map_err(|e| anyhow::anyhow!("name: {}", e.code))?;
            let role = store
                .roles
                .by_code(&a.role)
                .await?
                .with_context(|| format!("no role with code {:?}", a.role))?;
            let (password, generated) = cli_password()?;
            let new = NewUser {
                username: username.as_str().to_owned(),
                display_name: display.as_str().to_owned(),
                email: None,
                role_id: role.id,
                password_hash: hash_password(&password)?,
                must_change_password: generated,
            };
            let u = store
                .users
                .create(&new, &actor)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created user {} (id {}, role {})",
                u.username, u.id, u.role_name
            );
            if generated {
                println!("password: {password}  (to be changed at first sign-in)");
            }
        }
        UserCmd::Passwd {
            username,
            temporary,
        } => {
            let u = find(username).await?;
            let (password, generated) = cli_password()?;
            store
                .users
                .set_password(
                    u.id,
                    &hash_password(&password)?,
                    temporary || generated,
                    None,
                    &actor,
                )
                .await?;
            println!("password of {} changed", u.username);
            if generated {
                println!("password: {password}  (to be changed at next sign-in)");
            }
        }
        UserCmd::Disable { username } => {
            let u = find(username).await?;
            store.users.set_disabled(u.id, true, &actor).await?;
            println!("{} is disabled", u.username);
        }
        UserCmd::Enable { username } => {
            let u = find(username).await?;
            store.users.set_disabled(u.id, false, &actor).await?;
            println!("{} is enabled", u.username);
        }
        UserCmd::List => {
            let page = store
                .users
                .list(&UserFilter::default(), PageRequest::new(Some(1), Some(200)))
                .await?;
            for u in page.items {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:>5}  {:<20} {:<16} {:<10} {}",
                    u.id, u.username, u.role_name, state, u.display_name
                );
            }
        }
    }
    Ok(())
}

async fn token(cmd: TokenCmd, store: &Store) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Issue {
            user,
            name,
            expires_days,
        } => {
            let u = store
                .users
                .by_username(&user.to_lowercase())
                .await?
                .with_context(|| format!("no user named {user:?}"))?;
            let name = kehu_domain::text::line("name", &name, 64)
                .map_err(|e| anyhow::anyhow!("token name: {}", e.code))?;
            let expires_at = (expires_days > 0)
                .then(|| chrono::Utc::now() + chrono::Duration::days(i64::from(expires_days)));
            let token = new_token();
            store
                .tokens
                .issue(
                    u.id,
                    &name,
                    &token_digest(&token),
                    expires_at,
                    &Actor::system(),
                )
                .await?;
            // Alone on stdout, so scripts can capture it.
            println!("{token}");
        }
        TokenCmd::Revoke { id } => {
            store
                .tokens
                .revoke(OwnerFilter::system(), id, &Actor::system())
                .await?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

async fn backup(config: &Config, out: Option<PathBuf>) -> anyhow::Result<()> {
    let store = open(config).await?;
    if store.db.backend() == Backend::Postgres {
        bail!(
            "kehu backup copies the embedded SQLite database only. For PostgreSQL use pg_dump, e.g.\n  pg_dump --format=custom --file=kehu.dump \"$KEHU_DATABASE_URL\"\nand restore with pg_restore."
        );
    }
    let out = out.unwrap_or_else(|| {
        config
            .data_dir
            .join(format!("backup-{}.db", chrono_stamp()))
    });
    if out.exists() {
        bail!("{} exists already; choose another --out", out.display());
    }
    let path = out.to_str().context("the backup path is not valid UTF-8")?;
    // VACUUM INTO takes a consistent copy while kehu keeps running.
    store
        .db
        .execute_raw(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .await
        .with_context(|| format!("writing {path}"))?;
    println!("backup written to {path}");
    Ok(())
}

fn chrono_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    secs.to_string()
}

/// Demo users, one or two per role, with realistic Chinese names.
const DEMO_USERS: &[(&str, &str, &str)] = &[
    ("zhangwei", "张伟", "sales_supervisor"),
    ("lina", "李娜", "account_manager"),
    ("wangfang", "王芳", "account_manager"),
    ("zhaolei", "赵磊", "account_manager"),
    ("sunli", "孙丽", "account_manager"),
    ("liuyang", "刘洋", "executive"),
    ("chenjing", "陈静", "admin"),
];

async fn demo(
    config: &Config,
    customers: u64,
    opportunities: u64,
    services: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let store = &open(config).await?;
    let password = std::env::var("KEHU_DEMO_PASSWORD").unwrap_or_else(|_| "kehu-demo-2026".into());
    let hash = hash_password(&password)?;
    let mut created = 0;
    for (username, name, role) in DEMO_USERS {
        if store.users.by_username(username).await?.is_some() {
            continue;
        }
        let role = store
            .roles
            .by_code(role)
            .await?
            .with_context(|| format!("role {role} missing"))?;
        let new = NewUser {
            username: (*username).into(),
            display_name: (*name).into(),
            email: Some(format!("{username}@demo.kehu.cn")),
            role_id: role.id,
            password_hash: hash.clone(),
            must_change_password: false,
        };
        store.users.create(&new, &Actor::system()).await?;
        created += 1;
    }
    println!("demo users: {created} created (password: {password})");
    let mut managers = Vec::new();
    for (username, _, role) in DEMO_USERS {
        if *role == "account_manager"
            && let Some(u) = store.users.by_username(username).await?
        {
            managers.push(u.id);
        }
    }
    let customers_store = kehu_customers::store::CustomerStore::new(
        store.db.clone(),
        chrono::Utc::now()
            .with_timezone(&config.time_zone.tz())
            .offset()
            .fix(),
    );
    let first = customers_store.count_all().await?;
    let bar = indicatif::ProgressBar::new(customers);
    let loaded =
        kehu_customers::demo::load(&customers_store, &managers, seed, first, customers, |n| {
            bar.set_position(n)
        })
        .await?;
    bar.finish_and_clear();
    println!(
        "demo data loaded: {} customers, {} contacts",
        loaded.customers, loaded.contacts
    );
    // Two years of orders and interactions for the first customers of this run: the whole
    // book of a demo company; a benchmark's million gets its history on the first few thousand.
    let with_history = &loaded.ids[..loaded.ids.len().min(DEMO_HISTORY_MAX)];
    let orders =
        kehu_orders::store::OrderStore::new(store.db.clone(), customers_store.utc_offset());
    let products = kehu_orders::products::ProductStore::new(store.db.clone());
    let bar = indicatif::ProgressBar::new(with_history.len() as u64);
    let history = kehu_orders::demo::load_history(
        &orders,
        &products,
        with_history,
        seed.wrapping_add(first),
        |n| bar.set_position(n),
    )
    .await?;
    bar.finish_and_clear();
    println!(
        "demo history loaded: {} products, {} orders, {} interactions",
        history.products, history.orders, history.activities
    );
    // Its customers at risk of loss: the loss scan over that history (six months).
    let loss = kehu_loss::store::LossStore::new(store.db.clone(), customers_store.utc_offset());
    let settings = kehu_loss::domain::Settings {
        threshold: kehu_loss::domain::Threshold::SIX_MONTHS,
        never_ordered: true,
    };
    let scanned = loss
        .scan(settings, &kehu_store::Actor::system(), |_, _| {})
        .await?;
    println!(
        "demo loss scan: {} customers scanned, {} warned of loss",
        scanned.scanned, scanned.warned
    );
    if opportunities > 0 {
        demo_opportunities(store, &customers_store, opportunities, seed).await?;
    }
    if services > 0 {
        demo_services(store, &customers_store, services, seed).await?;
    }
    Ok(())
}

/// `kehu demo`'s sales opportunities: entered by the demo's sales supervisor, given to its
/// account managers.
async fn demo_opportunities(
    store: &Store,
    customers: &kehu_customers::store::CustomerStore,
    n: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let mut staff = kehu_sales::demo::Staff {
        supervisor: 0,
        managers: Vec::new(),
    };
    for (username, _, role) in DEMO_USERS {
        let Some(u) = store.users.by_username(username).await? else {
            continue;
        };
        match *role {
            "sales_supervisor" => staff.supervisor = u.id,
            "account_manager" => staff.managers.push(u.id),
            _ => {}
        }
    }
    anyhow::ensure!(
        staff.supervisor != 0,
        "the demo's sales supervisor is missing"
    );
    let zone = customers.utc_offset();
    let sales = kehu_sales::store::OpportunityStore::new(store.db.clone(), zone);
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(n);
    let loaded =
        kehu_sales::demo::load(&sales, &staff, seed, n, zone, |k| bar.set_position(k)).await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let [unassigned, assigned, developing, success, failure] = loaded.by_status;
    println!(
        "demo opportunities loaded: {} ({unassigned} unassigned, {assigned} assigned, \
         {developing} developing, {success} won, {failure} lost), {} plan items ({} with \
         results, {} overdue), {} customers won, {} linked, in {secs:.1} s ({:.0} \
         opportunities/s)",
        loaded.opportunities,
        loaded.plan_items,
        loaded.results,
        loaded.overdue,
        loaded.customers_created,
        loaded.customers_linked,
        loaded.opportunities as f64 / secs.max(1e-9),
    );
    Ok(())
}

/// `kehu demo`'s service requests: taken by the account managers from their customers,
/// assigned by the sales supervisor, handled and answered as far as each has come.
async fn demo_services(
    store: &Store,
    customers: &kehu_customers::store::CustomerStore,
    n: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let mut staff = kehu_service::demo::Staff {
        supervisor: 0,
        managers: Vec::new(),
    };
    for (username, _, role) in DEMO_USERS {
        let Some(u) = store.users.by_username(username).await? else {
            continue;
        };
        match *role {
            "sales_supervisor" => staff.supervisor = u.id,
            "account_manager" => staff.managers.push(u.id),
            _ => {}
        }
    }
    anyhow::ensure!(
        staff.supervisor != 0,
        "the demo's sales supervisor is missing"
    );
    let services = kehu_service::store::ServiceStore::new(store.db.clone(), customers.utc_offset());
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(n);
    let loaded =
        kehu_service::demo::load(&services, customers, &store.users, &staff, seed, n, |k| {
            bar.set_position(k)
        })
        .await?;
    bar.finish_and_clear();
    let [new, assigned, handled, archived] = loaded.by_status;
    println!(
        "demo services loaded: {} ({new} new, {assigned} assigned, {handled} handled, \
         {archived} archived), {} complaints with {} steps, {} reopened once, in {:.1} s",
        loaded.services,
        loaded.complaints,
        loaded.steps,
        loaded.reopened,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// Customers of one `kehu demo` run that get orders and interactions.
const DEMO_HISTORY_MAX: usize = 2_000;
