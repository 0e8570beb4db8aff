"""``generate``: write a synthetic data set (the notebook's blobs) as CSV."""

from __future__ import annotations

from gmm_desktop.cli.parser import add_option, check_output, positive_int


def add_parser(sub) -> None:
    """Register ``generate`` on the subparsers ``sub``."""
    gen = sub.add_parser("generate", help="write a synthetic data set (CSV: x,y,label)")
    gen.add_argument("--preset", choices=["small", "medium", "large"], default="medium",
                     help="105, 1,050 or 10,500 points")
    gen.add_argument("--centers", help='cluster centers, e.g. "1,-1;5,5;8,7;10,0" (the default)')
    gen.add_argument("--n-samples", type=positive_int, help="number of points (overrides --preset)")
    add_option(gen, "seed", help="the same seed gives the same file")
    gen.add_argument("-o", "--output", required=True, metavar="DATA.csv")
    gen.set_defaults(handler=run)


def run(args) -> int:
    """Run ``generate``; returns the exit status."""
    from gmm_desktop.io.datasets import parse_points, write_csv
    from gmm_desktop.io.generator import generate

    check_output(args.output)
    centers = parse_points(args.centers, what="centers") if args.centers else None
    data = generate(args.preset, centers=centers, seed=args.seed, n_samples=args.n_samples)
    write_csv(data, args.output)
    print(f"wrote {data.X.shape[0]} points around {len(data.true_centers)} centers to {args.output}")
    return 0
