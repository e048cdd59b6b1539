rule qc_frames:
    input:
        calibrated=[f"{OUT}/calibrated/{name}" for name in NIGHT.calibrated_names()],
        rejections=rejection_tables(),
    output:
        frames=f"{OUT}/qc/frames.csv",
        night=f"{OUT}/qc/night.csv",
    log:
        f"{OUT}/logs/qc_frames.log",
    benchmark:
        f"{OUT}/benchmarks/qc_frames.tsv"
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=qc_mem_mb,
    params:
        gain=config["gain"],
        code=script_digest("qc_frames.py"),
    script:
        "../scripts/qc_frames.py"
