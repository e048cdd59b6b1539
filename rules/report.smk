rule plot_frame_figures:
    input:
        calibrated=shown_calibrated,
        raw=shown_raw,
    output:
        raw_vs_calibrated=report(
            path("figure", figure="raw_vs_calibrated"),
            caption="../report/raw_vs_calibrated.rst",
            category="Figures",
            subcategory="{group}",
        ),
        histogram=report(
            path("figure", figure="histogram"),
            caption="../report/histogram.rst",
            category="Figures",
            subcategory="{group}",
        ),
    log:
        log_path("plot_frame_figures{group}"),
    benchmark:
        benchmark_path("plot_frame_figures{group}")
    # drawn as soon as its frame is calibrated, beside the other frame jobs (which fill
    # the cores until the combine), not after them
    priority: 1
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=RESOURCES.figures_mem_mb,
    params:
        raw_hdu=shown_raw_hdu,
        code=script_digest("plot_frame_figures.py"),
    script:
        "../scripts/plot_frame_figures.py"


rule plot_master_figures:
    input:
        calibrated=calibrated_frames,
        master=path("master"),
        record=path("combine_record"),
    output:
        overscan_rows=report(
            path("figure", figure="overscan_rows"),
            caption="../report/overscan_rows.rst",
            category="Figures",
            subcategory="{group}",
        ),
        master=report(
            path("figure", figure="master"),
            caption="../report/master.rst",
            category="Figures",
            subcategory="{group}",
        ),
        rejected=report(
            path("figure", figure="rejected"),
            caption="../report/rejected.rst",
            category="Figures",
            subcategory="{group}",
        ),
        night=report(
            path("figure", figure="night"),
            caption="../report/night.rst",
            category="Figures",
            subcategory="{group}",
        ),
        extensions=report(
            directory(path("extension_figures")),
            patterns=["{extension}.png"],
            caption="../report/extension.rst",
            category="Figures",
            subcategory="{group}",
        ),
    log:
        log_path("plot_master_figures{group}"),
    benchmark:
        benchmark_path("plot_master_figures{group}")
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=RESOURCES.figures_mem_mb,
    params:
        frames=frame_times,
        code=script_digest("plot_master_figures.py"),
    script:
        "../scripts/plot_master_figures.py"
