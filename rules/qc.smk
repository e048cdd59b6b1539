rule qc_frames:
    input:
        records=expand(path("combine_record"), group=master_slots()),
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
    log:
        log_path("qc_frames"),
    benchmark:
        benchmark_path("qc_frames")
    localrule: True
    conda:
        "../envs/masterbias.yaml"
    params:
        groups=PLAN.masters,
        frames=lambda wildcards: frame_facts(),
        code=script_digest("qc_frames.py"),
    script:
        "../scripts/qc_frames.py"
