#!/usr/bin/env python3
"""Fills a SQLite file with realistic rows (a small shop: customers, products, orders, order
lines, an event log) until it reaches SIZE bytes, for the `database` built-in profile
(scripts/make-profiles). Deterministic: a fixed random seed. Stdlib only.

Usage: fill-sqlite.py PATH SIZE
"""
import os
import random
import sqlite3
import sys

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
         "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Wei Fatima Mohammed Yuki Olga "
         "Pierre Sofia Lucas Ana Mateo Chloe Noah Emma Liam Aisha Ravi Priya Hans Ingrid").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
        "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
        "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Müller "
        "Schmidt Dubois Rossi Nakamura Kowalski Novak Silva Santos Kim Patel Singh").split()
STREETS = "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park River Church Mill Spring".split()
KINDS = "St Ave Rd Blvd Ln Dr Way Ct".split()
CITIES = ("Springfield Riverside Franklin Greenville Bristol Clinton Fairview Salem Madison "
          "Georgetown Arlington Ashland Dover Oxford Jackson Burlington Manchester Milton").split()
COUNTRIES = "US US US US CA GB DE FR IT ES NL SE PL JP BR IN AU".split()
ADJ = ("red blue green black white large small compact premium eco wireless portable durable "
       "stainless organic vintage smart ergonomic heavy-duty lightweight").split()
NOUN = ("chair desk lamp kettle backpack jacket headphones keyboard mouse monitor bottle "
        "notebook pen blender toaster speaker charger cable tent pillow blanket mug").split()
STATUS = "pending paid shipped delivered cancelled refunded".split()
EVENTS = "login logout view_product add_to_cart remove_from_cart checkout payment_failed search".split()
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 Version/17.2 Safari/605.1.15",
          "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Mobile/15E148")


def main():
    path, size = sys.argv[1], int(sys.argv[2])
    rng = random.Random(13)
    db = sqlite3.connect(path)
    db.executescript("""
        PRAGMA page_size = 4096;
        CREATE TABLE customer (id INTEGER PRIMARY KEY, first TEXT, last TEXT, email TEXT,
            street TEXT, city TEXT, zip TEXT, country TEXT, created TEXT, balance REAL);
        CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT,
            description TEXT, price REAL, stock INTEGER);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, placed TEXT,
            status TEXT, total REAL, note TEXT);
        CREATE TABLE line (order_id INTEGER, product INTEGER, qty INTEGER, price REAL);
        CREATE TABLE event (id INTEGER PRIMARY KEY, customer INTEGER, at TEXT, kind TEXT,
            ip TEXT, agent TEXT, detail TEXT);
        CREATE INDEX orders_by_customer ON orders(customer);
        CREATE INDEX event_by_time ON event(at);
        CREATE INDEX customer_by_email ON customer(email);
    """)
    products = []
    for i in range(5000):
        name = f"{rng.choice(ADJ).title()} {rng.choice(ADJ)} {rng.choice(NOUN)}"
        desc = " ".join(rng.choice(ADJ + NOUN) for _ in range(rng.randint(8, 40)))
        products.append((i + 1, f"SKU-{rng.randrange(10**8):08d}", name, desc,
                         round(rng.uniform(2, 900), 2), rng.randint(0, 5000)))
    db.executemany("INSERT INTO product VALUES (?,?,?,?,?,?)", products)
    cust = 0
    order = 0
    event = 0
    day = 0
    while True:
        rows_c, rows_o, rows_l, rows_e = [], [], [], []
        for _ in range(2000):
            cust += 1
            f, l = rng.choice(FIRST), rng.choice(LAST)
            rows_c.append((cust, f, l, f"{f.lower()}.{l.lower()}{rng.randrange(1000)}@example.com",
                           f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(KINDS)}",
                           rng.choice(CITIES), f"{rng.randrange(100000):05d}", rng.choice(COUNTRIES),
                           f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                           round(rng.gauss(100, 80), 2)))
            for _ in range(rng.randint(0, 6)):
                order += 1
                day += rng.random() < 0.01
                lines = [(order, rng.randint(1, 5000), rng.randint(1, 4)) for _ in range(rng.randint(1, 5))]
                total = 0.0
                for o, p, q in lines:
                    price = products[p - 1][4]
                    total += price * q
                    rows_l.append((o, p, q, price))
                rows_o.append((order, cust, f"2025-01-01T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+{day}d",
                               rng.choice(STATUS), round(total, 2),
                               rng.choice(("", "", "", "gift wrap", "leave at door", "call before delivery"))))
            for _ in range(rng.randint(2, 20)):
                event += 1
                rows_e.append((event, cust, f"2025-02-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randrange(1000):03d}",
                               rng.choice(EVENTS), f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                               rng.choice(AGENTS), f'{{"page": {rng.randint(1, 50)}, "q": "{rng.choice(NOUN)}"}}'))
        db.executemany("INSERT INTO customer VALUES (?,?,?,?,?,?,?,?,?,?)", rows_c)
        db.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?)", rows_o)
        db.executemany("INSERT INTO line VALUES (?,?,?,?)", rows_l)
        db.executemany("INSERT INTO event VALUES (?,?,?,?,?,?,?)", rows_e)
        db.commit()
        if os.path.getsize(path) >= size:
            break
    db.close()


if __name__ == "__main__":
    main()
