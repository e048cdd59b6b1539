rule summarize_frames:
    input:
        raw=NIGHT.raw_paths,
    output:
        summary=report(
            summary_path(), caption="../report/summary.rst", category="Tables"
        ),
    log:
        f"{OUT}/logs/summarize_frames.log",
    benchmark:
        f"{OUT}/benchmarks/summarize_frames.tsv"
    localrule: True
    conda:
        "../envs/masterbias.yaml"
    params:
        select=config["select"],
        code=script_digest("summarize_frames.py"),
    script:
        "../scripts/summarize_frames.py"
