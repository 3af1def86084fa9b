/** The period and hall the statistics page shows; every section asks Rust for the same. */
export interface StatsQuery {
  from: string
  to: string
  /** null: every hall this desk may see. */
  hall: string | null
}
