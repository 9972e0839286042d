//! The PostgreSQL test infrastructure (issue 15): a throwaway cluster is real
//! and usable through the driver the PostgreSQL store will use (sqlx).

use sqlx::{Connection, PgConnection, Row};

use crate::postgres_support::Postgres;

#[tokio::test]
async fn throwaway_postgres_cluster_starts_and_accepts_queries() {
    let pg = Postgres::start();
    let mut conn = PgConnection::connect(pg.url()).await.unwrap();

    // The cluster of this test, not the system service.
    let data: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        std::path::Path::new(&data),
        pg.dir().join("data").canonicalize().unwrap()
    );

    sqlx::query(
        "CREATE TABLE messages (session text NOT NULL, seq bigint NOT NULL, \
         body text NOT NULL, PRIMARY KEY (session, seq))",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for (seq, body) in [(1_i64, "¡Hola!"), (2, "olvidé mi contraseña")] {
        sqlx::query("INSERT INTO messages (session, seq, body) VALUES ($1, $2, $3)")
            .bind("s1")
            .bind(seq)
            .bind(body)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // One seq per conversation: a second message under seq 2 is refused.
    let duplicate = sqlx::query("INSERT INTO messages (session, seq, body) VALUES ('s1', 2, 'x')")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let code = duplicate
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("23505"), "{duplicate}");

    let rows = sqlx::query("SELECT seq, body FROM messages WHERE session = $1 ORDER BY seq")
        .bind("s1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let read: Vec<(i64, String)> = rows.iter().map(|r| (r.get("seq"), r.get("body"))).collect();
    assert_eq!(
        read,
        [
            (1, "¡Hola!".to_owned()),
            (2, "olvidé mi contraseña".to_owned())
        ]
    );
    conn.close().await.unwrap();

    // Dropping the helper stops the cluster.
    let url = pg.url().to_owned();
    drop(pg);
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "still accepting connections after drop"
    );
}
