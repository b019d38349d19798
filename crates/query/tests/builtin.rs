//! The built-in workloads are queries too: `Workload::sql` run by the generic operators gives
//! the very answer (the same digest) the hand-written `streaming` strategy gives today, on the
//! generated `sales` and `orders` tables — so the generic path is the specialised paths' oracle.

use membench_datagen::{Format, GenSpec, generate, generate_orders};
use membench_kernel::{Answer, GroupRow, TopRow};
use membench_protocol::{DataSchema, TableSchema, TopNParams, Workload};
use membench_query::exec::QueryAnswer;
use membench_query::scan::{Reading, run};
use membench_query::sql::plan;
use membench_query::text::Value;
use membench_query::{CsvOptions, Table, open_table};
use membench_strategies::{Params, find};

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Decimal(u, 2) => *u,
        other => panic!("not an integer or cents: {other:?}"),
    }
}

/// The generic answer in the kernel's canonical form.
fn as_kernel(w: &Workload, a: &QueryAnswer) -> Answer {
    let groups = || {
        a.rows
            .iter()
            .map(|r| GroupRow {
                category: match &r[0] {
                    Value::Str(s) => s.clone(),
                    other => panic!("{other:?}"),
                },
                rows: int(&r[1]) as u64,
                sum_quantity: int(&r[2]),
                sum_total_cents: int(&r[3]),
            })
            .collect()
    };
    match w {
        Workload::TopN(_) => Answer::TopN {
            rows: a
                .rows
                .iter()
                .map(|r| TopRow {
                    order_id: int(&r[0]),
                    total_cents: int(&r[1]),
                })
                .collect(),
        },
        Workload::GroupBy => Answer::GroupBy { groups: groups() },
        Workload::Join(_) => Answer::Join { groups: groups() },
        Workload::Etl => unreachable!("etl has no SQL"),
    }
}

#[test]
fn the_builtin_workloads_as_sql_give_todays_answers_through_the_generic_path() {
    let dir = tempfile::tempdir().unwrap();
    let sales = generate(
        &GenSpec {
            rows: 30_000,
            ..GenSpec::default()
        },
        Format::Csv,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap();
    let [orders, items] = generate_orders(
        &GenSpec {
            schema: DataSchema::Orders,
            rows: 4_000,
            ..GenSpec::default()
        },
        Format::Csv,
        dir.path(),
        false,
        &mut |_| {},
    )
    .unwrap();
    let open = |p: &std::path::Path| open_table(p, &CsvOptions::default()).unwrap();
    let tables: Vec<(&str, Table)> = vec![
        ("sales", open(&sales.path)),
        ("orders", open(&orders.path)),
        ("order_items", open(&items.path)),
    ];
    let schemas: Vec<(&str, &TableSchema)> = tables.iter().map(|(n, t)| (*n, &t.schema)).collect();
    let streaming = find("streaming").unwrap();
    let mut workloads: Vec<Workload> = Workload::builtin().collect();
    workloads.push(Workload::TopN(TopNParams {
        n: 7,
        above_cents: 1_234_567,
    }));
    let mut checked = 0;
    for w in workloads {
        let Some(sql) = w.sql() else {
            assert_eq!(w, Workload::Etl, "only etl has no SQL");
            continue;
        };
        let p = plan(&sql, &schemas).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let inputs: Vec<&Table> = p
            .inputs
            .iter()
            .map(|n| &tables.iter().find(|(t, _)| t == n).unwrap().1)
            .collect();
        let generic = as_kernel(&w, &run(&p, &inputs, Reading::Streaming).unwrap());
        let mut params = Params::new(w.clone(), &sales.path);
        if w.is_join() {
            params = Params::new(w.clone(), &orders.path);
            params.items = Some(items.path.clone());
        }
        let today = streaming.run(&params).unwrap().answer;
        assert_eq!(generic.digest(), today.digest(), "{}: {sql}", w.name());
        checked += 1;
    }
    assert_eq!(checked, 4);
}
