rule summarize_frames:
    input:
        plan=summary_plan,
    output:
        summary=report(
            path("summary"), caption="../report/summary.rst", category="Tables"
        ),
    log:
        log_path("summarize_frames"),
    benchmark:
        benchmark_path("summarize_frames")
    localrule: True
    conda:
        "../envs/masterbias.yaml"
    params:
        code=script_digest("summarize_frames.py"),
    script:
        "../scripts/summarize_frames.py"
