# SQLAlchemy ORM sessions over PyMySQL (t/49-optimistic-clients.t): PyMySQL runs with
# autocommit off, so every session is a transaction (opened implicitly by its first
# statement, ended by commit(), or by the pool's ROLLBACK when it closes).
# Usage: orm_session.py PORT REPLICAS. Prints `ok NAME` / `not ok NAME: detail`.
import sys

from sqlalchemy import Column, Integer, create_engine, text
from sqlalchemy.orm import Session, declarative_base

port, replicas = int(sys.argv[1]), set(sys.argv[2].split(","))
Base = declarative_base()


class Row(Base):
    __tablename__ = "t"
    id = Column(Integer, primary_key=True)
    v = Column(Integer, nullable=False)


def check(name, ok, detail=""):
    print(("ok %s" % name) if ok else ("not ok %s: %s" % (name, detail)), flush=True)


engine = create_engine("mysql+pymysql://app:secret@127.0.0.1:%d/test" % port, pool_size=1)
wrong, where = 0, {}
for unit in range(10):
    with Session(engine) as s:   # a read-only unit of work
        for i in range(1, 6):
            if s.get(Row, i).v != i * 10:
                wrong += 1
        name = s.execute(text("SELECT name FROM marker")).scalar()
        where[name] = where.get(name, 0) + 1
        s.commit()
check("orm_readonly_results", wrong == 0, "%d wrong" % wrong)
check("orm_readonly_on_replicas", set(where) <= replicas, repr(where))

with Session(engine) as s:   # read, then write
    r = s.get(Row, 63)
    before = r.v
    r.v = before + 1
    s.flush()   # the UPDATE, inside the transaction
    after = s.execute(text("SELECT v FROM t WHERE id = 63")).scalar()
    s.commit()
check("orm_read_then_write", before == 630 and after == 631, "%s then %s" % (before, after))

stale = 0
for i in range(1, 21):   # its own write, read in the next unit of work
    with Session(engine) as s:
        s.execute(text("UPDATE t SET v = :v WHERE id = 72"), {"v": 2000 + i})
        s.commit()
    with Session(engine) as s:
        if s.get(Row, 72, populate_existing=True).v != 2000 + i:
            stale += 1
        s.commit()
check("orm_no_stale_reads", stale == 0, "%d of 20 stale" % stale)
