#!/usr/bin/python3
"""tools/bench's table: reads the runs (TSV) and prints throughput, peak RSS, the ratios
against the targets and the Nagle line.

usage: report.py ROWS.tsv DATASET... --nagle-set NAME

ROWS.tsv columns: dataset, mode (1 or 4), receiver, repetition, instances, bytes,
seconds, peak RSS (kB), status ("ok" or why the run failed).
A (dataset, mode, receiver) cell reports the median run by instances/s over its
repetitions and the largest peak RSS; one failed repetition fails the cell.
"""
import argparse
import statistics

RECEIVERS = ["caseport", "storescp", "orthanc", "caseport-tls"]
NAGLE = ["caseport-nagle", "storescp-nagle", "storescp-nodelay-nagle"]


def load(path):
    cells = {}
    order = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            ds, mode, rcv, rep, n, nbytes, secs, rss, status = line.rstrip("\n").split("\t")
            key = (ds, mode, rcv)
            if key not in cells:
                cells[key] = []
                order.append(key)
            cells[key].append(dict(rep=int(rep), n=int(n), bytes=int(nbytes), secs=float(secs),
                                   rss=int(rss), status=status))
    return cells, order


def summarize(runs):
    bad = [r for r in runs if r["status"] != "ok"]
    if bad:
        return dict(failed="; ".join("rep %d: %s" % (r["rep"], r["status"].rstrip("; ")) for r in bad),
                    n=runs[0]["n"])
    rates = sorted(r["n"] / r["secs"] for r in runs)
    by_rate = sorted(runs, key=lambda r: r["n"] / r["secs"])
    med = by_rate[(len(by_rate) - 1) // 2] if len(by_rate) % 2 else None
    ips = statistics.median(rates)
    if med is not None:
        mbs = med["bytes"] / 1e6 / med["secs"]
        secs = med["secs"]
    else:  # even count: median of the two middle runs
        a, b = by_rate[len(by_rate) // 2 - 1], by_rate[len(by_rate) // 2]
        mbs = (a["bytes"] / 1e6 / a["secs"] + b["bytes"] / 1e6 / b["secs"]) / 2
        secs = (a["secs"] + b["secs"]) / 2
    return dict(ips=ips, mbs=mbs, secs=secs, rss=max(r["rss"] for r in runs) / 1024,
                lo=rates[0], hi=rates[-1], reps=len(runs), n=runs[0]["n"])


def reference_line(datasets, rate):
    """The 3x target in instances/s beside storescp's rate in the same run. storescp only
    writes files (no fsync, no database, no encryption) while the senders share the same
    cores, so a target at or above its rate asks caseport, which also does all of those,
    to outrun the lightest receiver measured: a bound of this machine, not of caseport."""
    rows = []
    for ds in datasets:
        for mode in ("1", "4"):
            sc, o = rate(ds, mode, "storescp"), rate(ds, mode, "orthanc")
            if sc and o:
                above = "  (the target is above storescp's rate)" if 3 * o > sc else ""
                rows.append("  %-10s %-8s 3x orthanc = %6.1f inst/s; storescp %6.1f inst/s%s"
                            % (ds, mode + " assoc", 3 * o, sc, above))
    if rows:
        print("the 3x target against storescp (files only: no fsync, no database, no encryption)"
              " in the same run:")
        print("\n".join(rows))
        print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rows")
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--nagle-set", default="")
    ap.add_argument("--ct-set", default="")
    args = ap.parse_args()
    cells, _ = load(args.rows)
    s = {k: summarize(v) for k, v in cells.items()}
    reps = max((v.get("reps", 1) for v in s.values()), default=1)

    hdr = "%-10s %-8s %-9s %6s %9s %8s %12s" % ("dataset", "mode", "receiver", "inst", "inst/s",
                                                "MB/s", "peakRSS MiB")
    if reps > 1:
        hdr += "  %s" % ("inst/s min-max (%d runs)" % reps)
    print(hdr)
    for ds in args.datasets + ([args.ct_set + "-get"] if args.ct_set else []):
        for mode in ("1", "4"):
            for rcv in RECEIVERS:
                c = s.get((ds, mode, rcv))
                if c is None:
                    continue
                if "failed" in c:
                    print("%-10s %-8s %-9s %6d %9s %8s %12s  FAILED: %s" % (
                        ds, mode + " assoc", rcv, c["n"], "-", "-", "-", c["failed"]))
                    continue
                line = "%-10s %-8s %-9s %6d %9.1f %8.1f %12.1f" % (
                    ds, mode + " assoc", rcv, c["n"], c["ips"], c["mbs"], c["rss"])
                if reps > 1:
                    line += "  %.1f-%.1f" % (c["lo"], c["hi"])
                print(line)
    print()
    print("ratios of instances/s (targets from the issue: caseport >= 3x Orthanc+PostgreSQL with "
          "1 and 4 associations; caseport peak RSS < 64 MiB)")
    print("%-10s %-8s %17s %17s %-18s %-18s" % ("dataset", "mode", "caseport/storescp",
                                                "caseport/orthanc", "target >=3x orthanc",
                                                "target RSS <64MiB"))

    def rate(ds, mode, rcv):
        c = s.get((ds, mode, rcv))
        return None if c is None or "failed" in c else c["ips"]

    for ds in args.datasets:
        for mode in ("1", "4"):
            if not any((ds, mode, r) in s for r in RECEIVERS):
                continue
            c, sc, o = rate(ds, mode, "caseport"), rate(ds, mode, "storescp"), rate(ds, mode, "orthanc")
            r_s = "%.2fx" % (c / sc) if c and sc else "n/a"
            r_o = "%.2fx" % (c / o) if c and o else "n/a"
            t_o = ("met" if c / o >= 3 else "NOT met") if c and o else "n/a"
            cc = s.get((ds, mode, "caseport"))
            t_m = ("%s (%.1f)" % ("met" if cc["rss"] < 64 else "NOT met", cc["rss"])
                   if cc and "failed" not in cc else "n/a")
            print("%-10s %-8s %17s %17s %-18s %-18s" % (ds, mode + " assoc", r_s, r_o, t_o, t_m))
    print()
    reference_line(args.datasets, rate)

    if args.ct_set:
        get = args.ct_set + "-get"
        c, o = rate(get, "1", "caseport"), rate(get, "1", "orthanc")
        print("retrieval: getscu C-GET of the whole %s study, 1 association (row %s: the time is "
              "the C-GET alone)" % (args.ct_set, get))
        if c and o:
            print("  caseport/orthanc %.2fx (target >= 1.5x: %s)" % (c / o, "met" if c / o >= 1.5 else "NOT met"))
        else:
            print("  caseport/orthanc n/a (target >= 1.5x)")
        t, p = rate(args.ct_set, "1", "caseport-tls"), rate(args.ct_set, "1", "caseport")
        print("ingest over DICOM TLS (storescu +tla) vs plain, %s on 1 association:" % args.ct_set)
        if t and p:
            print("  caseport-tls/caseport %.2fx (target >= 0.8x: %s)" % (t / p, "met" if t / p >= 0.8 else "NOT met"))
        else:
            print("  caseport-tls/caseport n/a (target >= 0.8x)")
        print()

    def nagle(rcv):
        c = s.get((args.nagle_set, "1", rcv))
        if c is None:
            return None, "n/a"
        if "failed" in c:
            return None, "FAILED (%s)" % c["failed"]
        return c, "%.1f inst/s" % c["ips"]

    cp, cp_s = nagle("caseport-nagle")
    sd, sd_s = nagle("storescp-nagle")
    sn, sn_s = nagle("storescp-nodelay-nagle")
    n = next((x["n"] for x in (cp, sd, sn) if x), 0)
    print("Nagle case: storescu with its default configuration (no TCP_NODELAY in its environment,"
          " so Nagle on), %d instances of %s on 1 association:" % (n, args.nagle_set))
    print("  caseport %s; storescp default (no TCP_NODELAY: Nagle on at both ends) %s;"
          " storescp with TCP_NODELAY=1 %s" % (cp_s, sd_s, sn_s))
    if cp and sd:
        ratio = cp["ips"] / sd["ips"]
        extra = ""
        if sn:
            extra = "; vs storescp TCP_NODELAY=1: %.1fx" % (cp["ips"] / sn["ips"])
        print("  ratio caseport/storescp(default) %.1fx (target >= 10x: %s)%s" % (
            ratio, "met" if ratio >= 10 else "NOT met", extra))
    else:
        print("  ratio caseport/storescp(default) n/a (target >= 10x)")


if __name__ == "__main__":
    main()
