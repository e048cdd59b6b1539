rule compare_masters:
    input:
        master=path("master"),
        previous=previous_master,
    output:
        changes=path("changes"),
    log:
        log_path("compare_masters{group}"),
    benchmark:
        benchmark_path("compare_masters{group}")
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=RESOURCES.compare_mem_mb,
    params:
        code=script_digest("compare_masters.py"),
    script:
        "../scripts/compare_masters.py"


rule write_qc_tables:
    input:
        records=expand(path("combine_record"), group=master_slots()),
        changes=expand(path("changes"), group=compared_slots()),
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
    log:
        log_path("write_qc_tables"),
    benchmark:
        benchmark_path("write_qc_tables")
    localrule: True
    conda:
        "../envs/masterbias.yaml"
    params:
        groups=PLAN.masters,
        compared=sorted(PREVIOUS),
        frames=lambda wildcards: frame_facts(PLAN, config["gain"]),
        infos=[info.to_json() for info in INFOS],
        masters=master_relpaths(),
        code=script_digest("write_qc_tables.py"),
    script:
        "../scripts/write_qc_tables.py"
