// The strategy registry: one entry per strategy, `module::Type => StrategyInfo { … }`.
//
// This file is data. `membench-strategies` includes it to declare each module and pair its type
// with its metadata (`REGISTRY`); `membench-protocol` includes it and keeps only the metadata
// (`STRATEGIES`), so `cargo xtask list`, the gate, the report and the tidy tests read it without
// building Polars. Adding a strategy: its file in this folder, plus one entry here.
registry! {
    load_all::LoadAll => StrategyInfo {
        name: "load-all",
        description: "every row into memory, then compute (the seeds' pd.read_csv)",
        growth: Growths::sales(PerFormat::same(Growth::Linear)).and_join(Growth::Linear),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Runs,
    },
    load_all_polars::LoadAllPolars => StrategyInfo {
        name: "load-all-polars",
        description: "Polars eager read of the whole file, then the in-memory engine",
        growth: Growths::sales(PerFormat::same(Growth::Linear)).and_join(Growth::Linear),
        skip: Skip::Refuses,
        engine: Engine::Polars,
        compressed: Decompress::Whole,
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Runs,
    },
    load_all_lean::LoadAllLean => StrategyInfo {
        name: "load-all-lean",
        description: "load-all, loading less: only the workload's columns, text as dictionary \
                      codes, integers in the narrowest type, notes in one buffer",
        growth: Growths::sales(PerFormat::same(Growth::Linear)),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Runs,
    },
    chunked::Chunked => StrategyInfo {
        name: "chunked",
        description: "--chunk-rows rows materialised at a time, partial results merged",
        growth: Growths::sales(PerFormat::same(Growth::Constant)),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[Role::Resumable],
        on_by_default: true,
        queries: Queries::Runs,
    },
    adaptive::Adaptive => StrategyInfo {
        name: "adaptive",
        description: "batches sized by memory pressure: halved above 70 % of the budget, doubled \
                      below 35 % (seed 001's memory guard)",
        // Bounded by its budget, not by the file: below the low-water mark it doubles its
        // batches, so on Parquet (batches of whole row groups, a few MiB each) the heap grows
        // with the file until the budget or the largest batch is reached (measured: see the
        // README, "Design choices, measured once"). On CSV the budget is reached by 1M rows.
        growth: Growths::sales(PerFormat { csv: Growth::Constant, parquet: Growth::Linear }),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[Role::Resumable, Role::SizedFromBudget, Role::MemoryGuard],
        on_by_default: true,
        queries: Queries::Runs,
    },
    streaming::Streaming => StrategyInfo {
        name: "streaming",
        description: "one record at a time through reused buffers; Parquet: one row group at a time",
        // join: hashes the orders in range, so it grows with them (never with the items).
        growth: Growths::sales(PerFormat::same(Growth::Constant)).and_join(Growth::Linear),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[Role::Reference, Role::Resumable, Role::Incremental],
        on_by_default: true,
        queries: Queries::Runs,
    },
    lazy::Lazy => StrategyInfo {
        name: "lazy",
        description: "Polars LazyFrame scan, streaming engine, column projection",
        // Measured, not hoped: Polars' streaming Parquet source holds more as the file grows
        // (README, "Design choices, measured once"), and so does its CSV top-n (34.6 MiB of heap
        // at 1 M rows, 178.9 MiB at 10 M, 823 MiB at 50 M), so only "no worse than linear".
        growth: Growths::sales(PerFormat::same(Growth::Linear)).and_join(Growth::Linear),
        skip: Skip::Refuses,
        engine: Engine::Polars,
        compressed: Decompress::No(
            "Polars' lazy CSV scan reads an uncompressed file; a compressed one is decompressed whole \
             into memory first, which is load-all-polars",
        ),
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Runs,
    },
    parallel::Parallel => StrategyInfo {
        name: "parallel",
        description: "byte ranges on line boundaries (Parquet: row groups) on --threads workers",
        growth: Growths::sales(PerFormat::same(Growth::Constant)),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Overlapped,
        needs: &[],
        roles: &[Role::Resumable, Role::Incremental],
        on_by_default: true,
        queries: Queries::Runs,
    },
    mmap::Mmap => StrategyInfo {
        name: "mmap",
        description: "the file memory-mapped (madvise sequential), records parsed in place with \
                      no copy; Parquet: one row group at a time",
        growth: Growths::sales(PerFormat::same(Growth::Constant)),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::No(
            "a compressed file's bytes are not its records: mapping it saves nothing",
        ),
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Runs,
    },
    merge_join::MergeJoin => StrategyInfo {
        name: "merge-join",
        description: "join: sort-merge on order_id in constant memory; unordered items are first \
                      sorted by an external merge sort (runs spilled to the scratch folder)",
        growth: Growths::join_only(Growth::Constant),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[Role::SizedFromBudget],
        on_by_default: true,
        queries: Queries::Joins,
    },
    grace::Grace => StrategyInfo {
        name: "grace",
        description: "join: both tables hash-partitioned into spill files, then joined partition \
                      by partition; partitions sized from --memory-limit",
        growth: Growths::join_only(Growth::Constant),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[Role::SizedFromBudget],
        on_by_default: true,
        queries: Queries::Joins,
    },
    spill_agg::SpillAgg => StrategyInfo {
        name: "spill-agg",
        description: "a user's GROUP BY: groups held in memory until they outgrow a quarter \
                      of --memory-limit (without one, all of them), then the rows of new groups hash-partitioned into spill \
                      files, each aggregated on its own (partitioned again when one still does \
                      not fit)",
        growth: Growths::queries_only(Growth::Constant),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Groups,
    },
    sort_agg::SortAgg => StrategyInfo {
        name: "sort-agg",
        description: "a user's GROUP BY: groups held in memory until they outgrow a quarter of \
                      --memory-limit (without one, all of them), then the rows of new groups \
                      sorted on their key by an external merge sort (merge-join's) and \
                      aggregated one group at a time as the sorted runs merge",
        growth: Growths::queries_only(Growth::Constant),
        skip: Skip::Counts,
        engine: Engine::Kernel,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[],
        on_by_default: true,
        queries: Queries::Groups,
    },
    sqlite::Sqlite => StrategyInfo {
        name: "sqlite",
        description: "push-down to embedded SQLite: prepared-statement load in one transaction, \
                      workload index, SQL; \
                      etl's text rules applied in Rust (SQLite's lower() is ASCII-only)",
        growth: Growths::sales(PerFormat::same(Growth::Constant)).and_join(Growth::Constant),
        skip: Skip::Counts,
        engine: Engine::Sqlite,
        compressed: Decompress::Streaming,
        needs: &[],
        roles: &[Role::Incremental],
        on_by_default: false,
        queries: Queries::Runs,
    },
    postgres::Postgres => StrategyInfo {
        name: "postgres",
        description: "push-down to a PostgreSQL server: COPY load, workload index, SQL, rows \
                      back through a portal; etl's text rules applied in Rust (collation-bound)",
        growth: Growths::sales(PerFormat::same(Growth::Constant)).and_join(Growth::Constant),
        skip: Skip::Counts,
        engine: Engine::Postgres,
        compressed: Decompress::Streaming,
        needs: &[Requirement::PostgresServer],
        roles: &[],
        on_by_default: false,
        queries: Queries::Runs,
    },
}
