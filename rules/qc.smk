# a checkpoint: the figures drawn depend on the nights the history flags
checkpoint write_qc_tables:
    input:
        plan=history_plan,
        records=open_records,
    output:
        frames=report(
            path("frames_table"), caption="../report/frames.rst", category="Tables"
        ),
        night=report(
            path("night_table"), caption="../report/night_table.rst", category="Tables"
        ),
        rejections=report(
            path("rejections_table"),
            caption="../report/rejections.rst",
            category="Tables",
        ),
        history=report(
            path("history"), caption="../report/history.rst", category="History"
        ),
        history_figure=report(
            path("history_figure"),
            caption="../report/history_figure.rst",
            category="History",
        ),
        registry=path("registry"),
        choices=path("choices"),
    log:
        log_path("write_qc_tables"),
    benchmark:
        benchmark_path("write_qc_tables")
    localrule: True
    conda:
        "../envs/masterbias.yaml"
    threads: 2
    params:
        code=script_digest("write_qc_tables.py"),
    script:
        "../scripts/write_qc_tables.py"
