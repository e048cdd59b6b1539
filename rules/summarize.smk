rule summarize_frames:
    input:
        raw=NIGHT.raw_paths,
    output:
        summary=summary_path(),
    params:
        select=config["select"],
        code=script_digest("summarize_frames.py"),
    log:
        f"{OUT}/logs/summarize_frames.log",
    benchmark:
        f"{OUT}/benchmarks/summarize_frames.tsv"
    conda:
        "../envs/masterbias.yaml"
    localrule: True
    script:
        "../scripts/summarize_frames.py"
